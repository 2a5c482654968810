/** Flag parsing shared by the commands: `node:util` parseArgs plus HOST:PORT and duration values. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command-line mistake; the CLI prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `argv` strictly: unknown flags are usage errors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses `HOST:PORT` (or `:PORT`, or `PORT`). */
export function hostPort(value: string, defaultHost: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`expected HOST:PORT, got ${JSON.stringify(value)}`);
  }
  return { host: m[1] !== undefined && m[1] !== '' ? m[1] : defaultHost, port };
}

/** Parses a duration such as `30m`, `90s`, `1h` or `1500ms` into milliseconds. */
export function duration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value);
  if (m === null)
    throw new UsageError(`expected a duration such as 30m or 90s, got ${JSON.stringify(value)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Parses a size such as `20G`, `512M`, `1T`, `100k` or plain bytes (binary units) into bytes. */
export function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  if (m === null)
    throw new UsageError(`expected a size such as 20G or 512M, got ${JSON.stringify(value)}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    (m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes <= 0) throw new UsageError(`size must be above 0, got ${JSON.stringify(value)}`);
  return bytes;
}

/**
 * Adds flags from `INGOT_<FLAG>` environment variables (`--deploy-timeout` ← `INGOT_DEPLOY_TIMEOUT`)
 * for every flag not given on the command line, so a systemd unit's `EnvironmentFile=` can carry
 * the configuration (deploy/systemd/*.env.example). Flags that repeat take several values
 * separated by spaces or commas; boolean flags take `1`, `true` or `yes`. Empty values are unset.
 */
export function withEnvFlags(
  argv: readonly string[],
  options: Readonly<Record<string, { readonly type: string; readonly multiple?: boolean }>>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const extra: string[] = [];
  for (const [flag, option] of Object.entries(options)) {
    if (argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) continue;
    const value = env[envName(flag)]?.trim();
    if (value === undefined || value === '') continue;
    if (option.type === 'boolean') {
      if (/^(1|true|yes)$/i.test(value)) extra.push(`--${flag}`);
    } else if (option.multiple === true) {
      for (const v of value.split(/[\s,]+/).filter((s) => s !== '')) extra.push(`--${flag}`, v);
    } else {
      extra.push(`--${flag}`, value);
    }
  }
  return [...argv, ...extra];
}

/** The environment variable of a flag: `deploy-timeout` → `INGOT_DEPLOY_TIMEOUT`. */
export function envName(flag: string): string {
  return `INGOT_${flag.toUpperCase().replace(/-/g, '_')}`;
}
