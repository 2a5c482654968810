/**
 * Vitest hooks around a throwaway PostgreSQL server (`postgres-server.ts`): one server per test
 * file, started before its first test and stopped after its last, with one migrated database and
 * one pool of 8 connections. Each `openStore()` empties that database first, so every test starts
 * from a fresh store; closing the store leaves the shared pool open.
 *
 * Off CI, a machine without PostgreSQL's binaries skips these tests (`postgresTestsEnabled`); on CI
 * (`CI=true`) they run and fail, so a CI image that lost the package cannot pass silently.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Kysely } from 'kysely';
import { createPostgresDatabase } from '../store/postgres.ts';
import type { Database } from '../store/schema.ts';
import { migrate } from '../store/sqlite.ts';
import { SqlStore } from '../store/sql-store.ts';
import { postgresBinDir, startPostgresServer, type PostgresServer } from './postgres-server.ts';

/** False only off CI on a machine without PostgreSQL: the caller skips its PostgreSQL tests. */
export function postgresTestsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] === 'true' || postgresBinDir(env) !== undefined;
}

/** What a test file gets from {@link usePostgresServer}. */
export interface PostgresFixture {
  /** The running server (only inside tests and hooks). */
  server(): PostgresServer;
  /** Empties the file's database and returns a store on it. */
  openStore(): Promise<SqlStore>;
}

/** Starts a server before the file's tests and stops it after them. */
export function usePostgresServer(): PostgresFixture {
  let server: PostgresServer | undefined;
  let url: string | undefined;
  let admin: pg.Client | undefined;
  let db: Kysely<Database> | undefined;

  beforeAll(async () => {
    server = await startPostgresServer();
    url = await server.createDatabase();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    db = createPostgresDatabase(url, { maxConnections: 8 });
    await migrate(db, 'postgres');
  }, 120_000);

  afterAll(async () => {
    await db?.destroy();
    await admin?.end();
    await server?.stop();
  }, 60_000);

  const running = (): PostgresServer => {
    if (server === undefined) throw new Error('the PostgreSQL server did not start');
    return server;
  };

  return {
    server: running,
    async openStore(): Promise<SqlStore> {
      running();
      if (admin === undefined || db === undefined) throw new Error('no test database');
      // Every table but the migrator's own, so the next open finds the schema up to date.
      const { rows } = await admin.query<{ tablename: string }>(
        "select tablename from pg_tables where schemaname = 'public' and tablename not like 'kysely_%'",
      );
      if (rows.length > 0) {
        const tables = rows.map((r) => `"${r.tablename}"`).join(', ');
        await admin.query(`truncate ${tables} restart identity cascade`);
      }
      return new SqlStore(db, 'postgres', () => Promise.resolve());
    },
  };
}
