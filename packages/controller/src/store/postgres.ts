/**
 * Opens the PostgreSQL store: Kysely's `PostgresDialect` over a `pg` pool, migrated to the latest
 * version. Several controllers may share one database (DESIGN.md §10); what makes that safe:
 * - migrations: Kysely's migrator holds a PostgreSQL advisory lock while it migrates and runs
 *   each migration in a transaction, so controllers starting together migrate once;
 * - `Store.transaction` runs at REPEATABLE READ and is run again on serialization failures,
 *   deadlocks and unique violations (see `postgres-retry.ts`);
 * - allocation picks its row with `FOR UPDATE SKIP LOCKED` (in `SqlStore`);
 * - event appends take a transaction-scoped advisory lock, so `seq` order is commit order.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';
import { migrate } from './sqlite.ts';

/**
 * `pg` returns `bigint` (and `count(*)`) as strings so no precision is lost; every bigint the
 * schema holds (milliseconds since the epoch, sizes, counters) fits a double exactly, so this pool
 * returns them as numbers, like SQLite. Per pool, not `pg.types`: no global parser is changed.
 */
function storeTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  return types;
}

/** How `openPostgresStore` connects. */
export interface PostgresStoreOptions {
  /** Pool size: the most statements this controller runs at once (default 10). */
  readonly maxConnections?: number;
}

/** True for a `postgres://` or `postgresql://` connection URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * A Kysely database over a new `pg` pool for `url`, not yet migrated (`openPostgresStore` is the
 * way in; tests that share one pool between many stores use this). Connects lazily.
 */
export function createPostgresDatabase(
  url: string,
  options: PostgresStoreOptions = {},
): Kysely<Database> {
  if (!isPostgresUrl(url)) throw new Error(`not a PostgreSQL URL: ${url}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    types: storeTypes(),
    // Bounds both connecting to an unreachable server and waiting for a free connection when
    // all are busy (pg-pool uses the one setting for both): under a burst of requests they queue,
    // as they do on SQLite, instead of failing after a few seconds (seen: 344 of 1,000
    // concurrent allocations got 500 with 10 s on a loaded machine).
    connectionTimeoutMillis: 60_000,
  });
  // An idle connection the server dropped (restart, failover) emits 'error' on the pool; without
  // a listener that would end the process. The pool discards that client and the next query
  // opens a new connection (or fails and surfaces the error where it is awaited).
  pool.on('error', () => undefined);
  // The same for a connection that is checked out when the server goes away: the statement
  // running on it fails and reports the error; the client's own 'error' event must not crash us.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Connects to the PostgreSQL database at `url` (`postgres://user[:password]@host[:port]/db`) and
 * applies pending migrations. Throws if the URL is not a PostgreSQL one, the database is
 * unreachable or a migration fails: the controller must not run on a half-migrated schema.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<SqlStore> {
  const db = createPostgresDatabase(url, options);
  try {
    await migrate(db, 'postgres');
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return new SqlStore(db, 'postgres');
}
