/**
 * Opens the embedded SQLite store: better-sqlite3 in WAL mode, migrated to the latest version.
 */
import { existsSync, writeFileSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationProvider } from 'kysely';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';

/**
 * Opens (creating if needed) the SQLite database at `file` (`:memory:` for tests) and applies
 * pending migrations. Throws if a migration fails: the controller must not run on a half-migrated
 * schema.
 */
export async function openSqliteStore(file: string): Promise<SqlStore> {
  // The database holds key hashes and, later, encrypted BMC secrets: readable by its owner only.
  // SQLite gives the -wal and -shm files the same mode as the database file.
  if (file !== ':memory:' && !existsSync(file)) writeFileSync(file, '', { mode: 0o600 });
  const database = new Sqlite(file);
  database.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; FULL adds power-loss durability.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  await migrate(db, 'sqlite');
  return new SqlStore(db, 'sqlite');
}

/** Applies every pending migration; throws on failure. */
export async function migrate(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
}
