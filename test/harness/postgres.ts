/**
 * PostgreSQL for end-to-end tests: one throwaway server per test file (initdb + pg_ctl from
 * Debian's `postgresql`, as the `postgres` user when run as root; see the controller's
 * `testing/postgres-server.ts`), and whether this machine can run such tests at all.
 */
import { afterAll, beforeAll } from 'vitest';
import {
  postgresBinDir,
  startPostgresServer,
  type PostgresServer,
} from '@ingot/controller/testing';

/** False only off CI on a machine without PostgreSQL: there the caller skips; on CI it fails. */
export const postgresAvailable: boolean =
  process.env['CI'] === 'true' || postgresBinDir() !== undefined;

/** Starts a server before the file's tests and stops it (by its data directory) after them. */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgresServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);
  return () => {
    if (server === undefined) throw new Error('the PostgreSQL server did not start');
    return server;
  };
}
