import pg from 'pg';
import { silentLogger } from '@ingot/common';
import { describe, it } from 'vitest';
import { postgresTestsEnabled, usePostgresServer } from '../testing/use-postgres-server.ts';
import { startPostgresLeadership, type Leadership } from './leadership.ts';

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${String(ms)} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!postgresTestsEnabled())('sweeper leadership on PostgreSQL', () => {
  const server = usePostgresServer();

  it('one leader of three; when its connection dies another takes over, and only one leads', async () => {
    const url = await server.server().createDatabase();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const nodes: Leadership[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        nodes.push(await startPostgresLeadership({ url, logger: silentLogger, retryMs: 100 }));
      }
      const leaders = (): Leadership[] => nodes.filter((n) => n.isLeader());
      await until('a leader', () => leaders().length === 1);
      const first = leaders()[0];
      // Kill the leader's connection as a crash would (the server ends the session).
      await admin.query(
        `select pg_terminate_backend(pid) from pg_locks
          where locktype = 'advisory' and granted and objid = $1`,
        [7_316_290_442 % 2 ** 32],
      );
      await until('the old leader to notice', () => first?.isLeader() === false);
      await until('a new single leader', () => leaders().length === 1);
      // A clean stop hands over too.
      const second = leaders()[0];
      await second?.close();
      await until('a third leader', () => leaders().length === 1 && leaders()[0] !== second);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await admin.end();
    }
  }, 60_000);
});
