/**
 * Expected failures are values (STYLE.md §4.5). A `Result` is either `{ ok: true, value }` or
 * `{ ok: false, error }`, where `error` is a discriminated union on `kind`.
 */
export type Result<T, E extends { kind: string }> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Wraps a success. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps an expected failure. */
export function err<E extends { kind: string }>(
  error: E,
): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/**
 * Marks a branch the type checker proves unreachable. Reaching it at run time is a bug, so it
 * throws.
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
