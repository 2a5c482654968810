/**
 * What makes an API key a web UI session: its name starts with `session `, and it stops working
 * {@link SESSION_TTL_MS} after sign-in (a working day; the operator signs in again). Ordinary API
 * keys, for scripts and the CLI, do not expire.
 */
import type { ApiKeyRecord } from '../domain/user.ts';

/** The prefix of session keys' names. */
export const SESSION_KEY_PREFIX = 'session ';

/** How long a session key works after sign-in: 12 hours. */
export const SESSION_TTL_MS = 12 * 3600_000;

/** Whether `key` is a session key past its lifetime at `nowMs`. */
export function isExpiredSession(key: ApiKeyRecord, nowMs: number): boolean {
  return key.name.startsWith(SESSION_KEY_PREFIX) && nowMs - key.createdAtMs >= SESSION_TTL_MS;
}
