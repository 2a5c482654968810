/**
 * The shared counters behind {@link AuthLimiter}: one row per key (`ip:…`, `api-key:…`), kept in
 * the database so every controller on one PostgreSQL sees the same counts.
 */

/** One key's counter: failures in its current fixed window, which ends at `expiresAtMs`. */
export interface AuthFailureCount {
  readonly key: string;
  readonly failures: number;
  readonly windowStartMs: number;
  readonly expiresAtMs: number;
}

/** Port: the auth-failure counters (a part of the store; contract in `auth-failures.contract.ts`). */
export interface AuthFailureStore {
  /**
   * Adds one failure to each key in one statement: a key whose window has ended (or that has no
   * row) starts a new window `[nowMs, nowMs + windowMs)` with 1 failure. Returns every key's
   * counter after the write. Concurrent calls never lose a failure.
   */
  recordAuthFailures(
    keys: readonly string[],
    nowMs: number,
    windowMs: number,
  ): Promise<AuthFailureCount[]>;
  /** The stored counters of `keys` (expired ones included; callers compare `expiresAtMs`). */
  getAuthFailures(keys: readonly string[]): Promise<AuthFailureCount[]>;
  /** Writes `key` with 0 failures until `expiresAtMs` (a remembered success). */
  noteAuthSuccess(key: string, nowMs: number, expiresAtMs: number): Promise<void>;
  /** Deletes up to `limit` counters that expired before `nowMs`; returns how many. */
  pruneAuthFailures(nowMs: number, limit: number): Promise<number>;
}
