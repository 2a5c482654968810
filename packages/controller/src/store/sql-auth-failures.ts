/**
 * The auth-failure counters in SQL (`AuthFailureStore`). One upsert per failed attempt: the
 * window test and the increment happen in the statement, so controllers sharing PostgreSQL never
 * lose a count, and neither dialect needs a transaction for it.
 */
import { sql, type Kysely } from 'kysely';
import type { AuthFailureCount, AuthFailureStore } from '../app/auth-failure-store.ts';
import type { Database } from './schema.ts';

type Row = Database['auth_failures'];

function count(row: Row): AuthFailureCount {
  return {
    key: row.key,
    failures: row.failures,
    windowStartMs: row.window_start,
    expiresAtMs: row.expires_at,
  };
}

/** `AuthFailureStore` over a Kysely database of either dialect. */
export class SqlAuthFailures implements AuthFailureStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async recordAuthFailures(
    keys: readonly string[],
    nowMs: number,
    windowMs: number,
  ): Promise<AuthFailureCount[]> {
    // Sorted and distinct: two controllers upserting the same keys lock them in one order.
    const sorted = [...new Set(keys)].sort();
    if (sorted.length === 0) return [];
    // SET expressions read the row as it was before the update (SQLite and PostgreSQL alike).
    const ended = sql<boolean>`auth_failures.expires_at <= ${nowMs}`;
    const rows = await this.#db
      .insertInto('auth_failures')
      .values(
        sorted.map((key) => ({
          key,
          failures: 1,
          window_start: nowMs,
          expires_at: nowMs + windowMs,
        })),
      )
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql<number>`case when ${ended} then 1 else auth_failures.failures + 1 end`,
          window_start: sql<number>`case when ${ended} then ${nowMs} else auth_failures.window_start end`,
          expires_at: sql<number>`case when ${ended} then ${nowMs + windowMs} else auth_failures.expires_at end`,
        }),
      )
      .returningAll()
      .execute();
    return rows.map(count);
  }

  async getAuthFailures(keys: readonly string[]): Promise<AuthFailureCount[]> {
    if (keys.length === 0) return [];
    const rows = await this.#db
      .selectFrom('auth_failures')
      .selectAll()
      .where('key', 'in', [...keys])
      .execute();
    return rows.map(count);
  }

  async noteAuthSuccess(key: string, nowMs: number, expiresAtMs: number): Promise<void> {
    const values = { failures: 0, window_start: nowMs, expires_at: expiresAtMs };
    await this.#db
      .insertInto('auth_failures')
      .values({ key, ...values })
      .onConflict((oc) => oc.column('key').doUpdateSet(values))
      .execute();
  }

  async pruneAuthFailures(nowMs: number, limit: number): Promise<number> {
    const doomed = this.#db
      .selectFrom('auth_failures')
      .select('key')
      .where('expires_at', '<', nowMs)
      .limit(limit);
    const r = await this.#db
      .deleteFrom('auth_failures')
      .where('key', 'in', doomed)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
