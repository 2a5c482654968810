/**
 * Lock order on PostgreSQL: a transaction that appends a machine's event and then updates the
 * machine (RackService.recordEvents, metadata reports carrying an id) and one that updates the
 * machine and then appends (a transition) must not deadlock over the event log's lock
 * (issue 7 failover: deadlocks, each found only after deadlock_timeout and retried, stalled the
 * surviving controller's rack session for minutes).
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { newEvent, newMachine } from '../testing/index.ts';
import { postgresTestsEnabled, usePostgresServer } from '../testing/use-postgres-server.ts';
import { openPostgresStore } from './postgres.ts';
import { T0 } from './store-contract-fixtures.ts';

function sqlState(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string'
    ? e.code
    : 'other';
}

/** Waits (bounded) until some session of the database waits for a lock. */
async function someoneBlocked(watcher: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await watcher.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
    );
    if (Number(rows[0]?.n ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the other transaction never waited for a lock');
}

describe.skipIf(!postgresTestsEnabled())('PostgreSQL lock order', () => {
  const server = usePostgresServer();

  it('append-then-update and update-then-append of one machine do not deadlock', async () => {
    const url = await server.server().createDatabase();
    const store = await openPostgresStore(url, { maxConnections: 4 });
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      await store.insertMachine(newMachine({ id: 'm1' }));
      // SQLSTATE of every statement that failed, in either transaction, on any attempt.
      const failures: string[] = [];
      const noted = async <T>(p: Promise<T>): Promise<T> => {
        try {
          return await p;
        } catch (e) {
          failures.push(sqlState(e));
          throw e;
        }
      };
      let updated: () => void = () => undefined;
      const machineUpdated = new Promise<void>((resolve) => {
        updated = resolve;
      });
      let appendFirstTries = 0;
      let updateFirstTries = 0;

      // The rack's step event for the machine, then the machine's last step.
      const appendFirst = store.transaction(async (tx) => {
        if (appendFirstTries++ === 0) await machineUpdated;
        const m = await tx.getMachine('m1');
        if (m === undefined) throw new Error('no machine');
        await noted(tx.appendEvents([newEvent({ kind: 'step', machineId: 'm1' })], T0));
        const after = await noted(tx.updateMachine('m1', m.version, { hostname: 'a' }, T0 + 1));
        if (after === undefined) throw new Error('stale');
      });
      // A transition: the machine first, then its event — appended only once the first
      // transaction is waiting for a lock.
      const updateFirst = store.transaction(async (tx) => {
        const m = await tx.getMachine('m1');
        if (m === undefined) throw new Error('no machine');
        const after = await noted(tx.updateMachine('m1', m.version, { hostname: 'b' }, T0 + 2));
        if (after === undefined) throw new Error('stale');
        if (updateFirstTries++ === 0) {
          updated();
          await someoneBlocked(watcher);
        }
        await noted(tx.appendEvents([newEvent({ kind: 'step', machineId: 'm1' })], T0 + 2));
      });
      await Promise.all([appendFirst, updateFirst]);

      expect(failures).not.toContain('40P01'); // deadlock_detected
      const events = await store.listEvents({ machineId: 'm1' });
      expect(events).toHaveLength(2);
      expect((await store.getMachine('m1'))?.version).toBe(3);
    } finally {
      await watcher.end();
      await store.close();
    }
  }, 60_000);
});
