/**
 * A strict parser for the Prometheus text exposition format 0.0.4, written from the format's
 * description (independent of prom-client, which renders it): `# HELP`/`# TYPE` lines with their
 * escapes, metric and label name grammar, label value escapes (`\\`, `\"`, `\n`), float values
 * (`NaN`, `+Inf`, `-Inf`), optional timestamps, one TYPE per family before its samples, families
 * not interleaved, no duplicate series, and histograms with `_bucket{le}` series that are
 * cumulative and end in `le="+Inf"` equal to `_count`, plus `_sum`. Anything else throws, naming
 * the line.
 */

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its TYPE, HELP and samples. */
export interface Family {
  readonly name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | undefined;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** Parses a float as the format allows it. */
function parseValue(text: string, where: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!FLOAT.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Reads `{a="b",…}` from `text` at `start` (which is `{`); returns labels and the next index. */
function parseLabels(
  text: string,
  where: string,
): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = LABEL_NAME.exec(text.slice(i))?.[0];
    if (name === undefined) throw new Error(`${where}: bad label name at ${text.slice(i)}`);
    if (name in labels) throw new Error(`${where}: label ${name} repeated`);
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new Error(`${where}: expected ="`);
    i += 2;
    let value = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch === '\n') throw new Error(`${where}: unterminated label value`);
      i += 1;
      if (ch === '"') break;
      if (ch !== '\\') {
        value += ch;
        continue;
      }
      const escaped = text[i];
      i += 1;
      if (escaped === '\\') value += '\\';
      else if (escaped === '"') value += '"';
      else if (escaped === 'n') value += '\n';
      else throw new Error(`${where}: bad escape \\${escaped ?? ''} in label value`);
    }
    labels[name] = value;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** HELP docstrings escape only `\\` and `\n`. */
function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new Error(`${where}: bad escape \\${c} in HELP`);
  });
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const [base, family] of families) {
    for (const suffix of SUFFIXES[family.type] ?? []) {
      if (name === base + suffix) return base;
    }
  }
  return name;
}

/** Parses a whole exposition. Throws on the first violation, naming the line. */
export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with \\n');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, where: string): Family => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`${where}: family ${name} is not contiguous`);
      if (current !== undefined) closed.add(current);
      current = name;
    }
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    return family;
  };
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (m === null) return; // a plain comment
      const [, keyword, name = '', rest = ''] = m;
      if (METRIC_NAME.exec(name)?.[0] !== name) throw new Error(`${where}: bad metric name`);
      const family = enter(name, where);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        family.help = unescapeHelp(rest, where);
        return;
      }
      if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
      if (family.samples.length > 0 || seen.has(`type:${name}`)) {
        throw new Error(`${where}: TYPE for ${name} after its samples or repeated`);
      }
      seen.add(`type:${name}`);
      family.type = rest as Family['type'];
      return;
    }
    const name = METRIC_NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`${where}: bad metric name`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    const fields = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || fields.length < 1 || fields.length > 2) {
      throw new Error(`${where}: expected " value [timestamp]"`);
    }
    const value = parseValue(fields[0] ?? '', where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) {
      throw new Error(`${where}: bad timestamp`);
    }
    const family = enter(familyOf(name, families), where);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate series`);
    seen.add(key);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`${where}: negative counter`);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** Buckets cumulative, `+Inf` present and equal to `_count`, `_sum` present, per label set. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      group.buckets.push([parseValue(le, `${family.name} le`), s.value]);
    } else if (s.name.endsWith('_sum')) group.sum = s.value;
    else if (s.name.endsWith('_count')) group.count = s.value;
  }
  for (const [key, g] of groups) {
    const where = `${family.name}${key}`;
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0)) {
        throw new Error(`${where}: buckets not cumulative`);
      }
    }
    const inf = sorted.at(-1);
    if (inf === undefined || inf[0] !== Infinity) throw new Error(`${where}: no le="+Inf" bucket`);
    if (g.count === undefined || g.sum === undefined) throw new Error(`${where}: no _sum/_count`);
    if (inf[1] !== g.count) throw new Error(`${where}: +Inf bucket ${inf[1]} != count ${g.count}`);
  }
}

/**
 * The value of the sample `name` whose labels include `labels` (exactly one must match), or 0 when
 * none does: counters with labels appear only once they moved.
 */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1)
    throw new Error(`${name} ${JSON.stringify(labels)} matches several series`);
  return matches[0]?.value ?? 0;
}
