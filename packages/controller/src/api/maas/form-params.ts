/**
 * MAAS request parameters: `op` in the query string, the rest in the query (GET) or in a form
 * body (POST), `application/x-www-form-urlencoded` or `multipart/form-data` (gomaasapi and
 * python-libmaas send the latter). A key may repeat to give a list (`id=a&id=b`).
 */
import type { Context } from 'hono';
import { MaasError } from './maas-error.ts';

const TRUE = new Set(['true', '1', 'on', 'yes']);
const FALSE = new Set(['false', '0', 'off', 'no', '']);

/** The parameters of one request. Getters throw {@link MaasError} 400 for malformed values. */
export class MaasParams {
  readonly #values: Map<string, string[]>;

  constructor(values: Map<string, string[]>) {
    this.#values = values;
  }

  /** Every parameter name given. */
  names(): string[] {
    return [...this.#values.keys()];
  }

  /** The last value of `name`, or undefined. */
  one(name: string): string | undefined {
    const values = this.#values.get(name);
    return values === undefined ? undefined : values[values.length - 1];
  }

  /** Every value of `name`, in order. */
  all(name: string): string[] {
    return [...(this.#values.get(name) ?? [])];
  }

  /** A list given by repetition, commas, or both (`tags=a,b&tags=c`); empty items dropped. */
  list(name: string): string[] {
    return this.all(name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }

  /** A non-negative number rounded up (MAAS accepts `cpu_count=2.0`), or undefined. */
  minimum(name: string): number | undefined {
    const raw = this.one(name);
    if (raw === undefined || raw.trim() === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new MaasError(400, `${name}: "${raw}" is not a non-negative number.`);
    }
    return Math.ceil(value);
  }

  /** A boolean (`true`/`false`, `1`/`0`, `on`/`off`, `yes`/`no`), or `fallback`. */
  bool(name: string, fallback = false): boolean {
    const raw = this.one(name);
    if (raw === undefined) return fallback;
    const lower = raw.trim().toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    throw new MaasError(400, `${name}: "${raw}" is not a boolean.`);
  }
}

function add(values: Map<string, string[]>, name: string, value: string): void {
  const list = values.get(name);
  if (list === undefined) values.set(name, [value]);
  else list.push(value);
}

/** The `op` of a request (query string only, as MAAS reads it), or undefined. */
export function opOf(c: Context): string | undefined {
  const op = c.req.query('op');
  return op === undefined || op === '' ? undefined : op;
}

/**
 * Reads the query string (without `op`) and, for form bodies, the body. Files in a multipart
 * body are read as text (MAAS takes `user_data` either way).
 */
export async function readParams(c: Context): Promise<MaasParams> {
  const values = new Map<string, string[]>();
  for (const [name, list] of Object.entries(c.req.queries())) {
    if (name === 'op') continue;
    for (const v of list) add(values, name, v);
  }
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  const isForm =
    type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
  if (c.req.method !== 'GET' && isForm) {
    let body: Record<string, unknown>;
    try {
      body = await c.req.parseBody({ all: true });
    } catch {
      throw new MaasError(400, 'The request body is not a well-formed form.');
    }
    for (const [name, raw] of Object.entries(body)) {
      for (const item of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
        if (typeof item === 'string') add(values, name, item);
        else if (item instanceof Blob) add(values, name, await item.text());
      }
    }
  }
  return new MaasParams(values);
}
