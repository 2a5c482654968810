/**
 * Concurrency on PostgreSQL. SQLite runs one writer at a time, so a `Store.transaction` there
 * never interleaves with another. On PostgreSQL several connections (and several controllers)
 * write at once. Transactions run at REPEATABLE READ (one snapshot for the whole transaction, as
 * MAAS runs its region) and PostgreSQL aborts one that would overwrite a row another committed
 * after its snapshot (SQLSTATE 40001) or that deadlocks (40P01). "Check there is none, then
 * insert" rules (usernames, image names, rack names) are guarded by unique constraints: the
 * loser of such a race gets 23505, and running it again makes the check see the winner's row and
 * answer as it would have serially. So those three mean "run it again": the work of a
 * transaction only touches the store (events are published and racks woken after the commit).
 *
 * Why not SERIALIZABLE: its predicate locks are page-grained in B-tree indexes, so concurrent
 * allocations of different machines abort each other; measured with 1,000 concurrent
 * allocations over 500 machines it ran ~4x slower than REPEATABLE READ and once gave up after
 * 50 attempts. What REPEATABLE READ allows and SQLite does not (write skew across rows no
 * constraint ties together) must be guarded by a constraint or a row lock where it matters.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * SQLSTATEs that mean "nothing was written; the same work may succeed if run again", and the most
 * attempts each gets: a unique violation is usually a real duplicate, so it is tried only twice
 * more.
 */
const MAX_ATTEMPTS: ReadonlyMap<string, number> = new Map([
  ['40001', 50], // serialization_failure
  ['40P01', 50], // deadlock_detected
  ['23505', 3], // unique_violation
]);

/** Key of the advisory lock that orders event appends (any constant unique to Ingot). */
const EVENT_LOG_LOCK = 7_316_290_441;

/** How many attempts error `e` allows in all (1: not retryable). */
export function attemptsAllowed(e: unknown): number {
  if (typeof e !== 'object' || e === null || !('code' in e)) return 1;
  const code = e.code;
  return typeof code === 'string' ? (MAX_ATTEMPTS.get(code) ?? 1) : 1;
}

/**
 * Runs `attempt` until it succeeds or fails with a non-retryable error; after a serialization
 * failure, deadlock or unique violation it waits a short random time (growing with each try, at most ~100 ms) so
 * the transactions that collided do not collide again in lockstep. Gives up after the
 * attempts the error allows ({@link attemptsAllowed}) and rethrows it.
 */
export async function retryTransaction<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (e) {
      if (tries >= attemptsAllowed(e)) throw e;
      const ceilingMs = Math.min(100, 2 ** Math.min(tries, 7));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
    }
  }
}

/**
 * Takes the event log's transaction-scoped lock: appends then commit one at a time, so a `seq`
 * becomes visible only after every smaller one has (a reader resuming "after seq N" misses
 * nothing). Sequence values of rolled-back appends leave gaps, never reorderings. Must run inside
 * a transaction: the lock is released at its commit or rollback.
 */
export async function lockEventLog(db: Kysely<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${sql.lit(EVENT_LOG_LOCK)})`.execute(db);
}
