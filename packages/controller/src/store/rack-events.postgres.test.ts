/**
 * A rack's batch of events for several machines on PostgreSQL (an agent's outbox resent after a
 * failover): the events of one machine are stored while another machine of the batch is held by
 * a writer that has not committed (issue 7 failover: one transaction for the whole batch waited
 * for, and then conflicted with, every writer of any of its machines — the survivor stored the
 * agent's events tens of seconds late).
 */
import pg from 'pg';
import { FakeClock, silentLogger } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import {
  newMachine,
  rackStep,
  RecordingEventBus,
  RecordingRackNotifier,
} from '../testing/index.ts';
import { postgresTestsEnabled, usePostgresServer } from '../testing/use-postgres-server.ts';
import { openPostgresStore } from './postgres.ts';
import { RackService } from '../app/rack-service.ts';
import { createSecretBox, generateSecretKey } from '../app/secret-box.ts';
import { DEFAULT_TIMEOUTS } from '../app/transition-runner.ts';

describe.skipIf(!postgresTestsEnabled())('rack events on PostgreSQL', () => {
  const server = usePostgresServer();

  it("stores one machine's events while another machine of the batch is held", async () => {
    const url = await server.server().createDatabase();
    const store = await openPostgresStore(url, { maxConnections: 4 });
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    try {
      const racks = new RackService({
        store,
        bus: new RecordingEventBus(),
        racks: new RecordingRackNotifier(),
        clock: new FakeClock(),
        logger: silentLogger,
        timeouts: DEFAULT_TIMEOUTS,
        secrets: createSecretBox(generateSecretKey()),
        enrollmentTokenTtlMs: 3_600_000,
      });
      await store.insertMachine(newMachine({ id: 'a' }));
      await store.insertMachine(newMachine({ id: 'b' }));
      // Another writer holds machine b (a metadata report being stored, say).
      await writer.query('begin');
      await writer.query("update machines set hostname = 'held' where id = 'b'");

      const recording = racks.recordEvents('rack-1', [
        rackStep('a', 'boot.nbp'),
        rackStep('a', 'boot.config'),
        rackStep('b', 'boot.nbp'),
      ]);
      let storedA = 0;
      for (let i = 0; i < 250 && storedA < 2; i++) {
        storedA = (await store.listEvents({ machineId: 'a' })).length;
        if (storedA < 2) await new Promise((r) => setTimeout(r, 20));
      }
      await writer.query('rollback');
      await recording;

      expect(storedA).toBe(2); // a's events were stored while b was held
      expect(await store.listEvents({ machineId: 'b' })).toHaveLength(1);
      expect((await store.getMachine('a'))?.lastStep?.step).toBe('boot.config');
    } finally {
      await writer.end();
      await store.close();
    }
  }, 60_000);
});
