/**
 * Report ids under concurrency on both store dialects: two controllers (two services on one
 * database) receiving the same resent report at once store it once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@ingot/common';
import type { Store } from './ports.ts';
import { MetadataService } from './metadata-service.ts';
import { createSecretBox, generateSecretKey } from './secret-box.ts';
import { DEFAULT_TIMEOUTS } from './transition-runner.ts';
import { reportEventId } from './ids.ts';
import {
  newMachine,
  openSqliteStore,
  RecordingEventBus,
  RecordingRackNotifier,
  valueOf,
} from '../testing/index.ts';
import { postgresTestsEnabled, usePostgresServer } from '../testing/use-postgres-server.ts';
import type { ReportingEvent } from '../domain/metadata/reporting.ts';

function controller(store: Store): { service: MetadataService; bus: RecordingEventBus } {
  const bus = new RecordingEventBus();
  const service = new MetadataService({
    store,
    bus,
    racks: new RecordingRackNotifier(),
    clock: new FakeClock(),
    timeouts: DEFAULT_TIMEOUTS,
    secrets: createSecretBox(generateSecretKey()),
  });
  return { service, bus };
}

function describeReportIds(name: string, open: () => Promise<Store>): void {
  describe(`report ids: ${name}`, () => {
    let store: Store | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('eight concurrent copies of a FAIL through two controllers: one step, one transition, all acknowledged', async () => {
      store = await open();
      await store.insertMachine(
        newMachine({ id: 'm1', status: 'deploying', bootPurpose: 'install' }),
      );
      const machine = await store.getMachine('m1');
      if (machine === undefined) throw new Error('no machine');
      const caller = { machine, token: 'a:b:c', secret: 'c' };
      const [a, b] = [controller(store), controller(store)];
      const event: ReportingEvent = {
        id: 'report-1',
        eventType: 'finish',
        origin: 'ingot-installer',
        name: 'install.image',
        description: 'disk full',
        result: 'FAIL',
      };
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? a : b).service.report(caller, 'm1', event, []),
        ),
      );
      for (const r of results) valueOf(r);
      const events = await store.listEvents({ machineId: 'm1' });
      expect(events.map((e) => e.step)).toEqual(['install.image', 'deploy_failed']);
      expect(events[0]?.id).toBe(reportEventId('m1', 'report-1'));
      expect((await store.getMachine('m1'))?.status).toBe('failed_deployment');
      // Published once, by whichever controller stored it.
      const published = [...a.bus.published, ...b.bus.published].map((e) => e.step);
      expect(published.sort()).toEqual(['deploy_failed', 'install.image']);
    });

    it('concurrent reports with one id on two machines are both stored', async () => {
      store = await open();
      const callers = [];
      for (const id of ['m1', 'm2']) {
        await store.insertMachine(newMachine({ id, status: 'deploying', bootPurpose: 'install' }));
        const machine = await store.getMachine(id);
        if (machine === undefined) throw new Error('no machine');
        callers.push({ machine, token: 'a:b:c', secret: 'c' });
      }
      const { service } = controller(store);
      const event: ReportingEvent = {
        id: 'same',
        eventType: 'start',
        origin: 'ingot-installer',
        name: 'install.storage',
        description: '',
      };
      const results = await Promise.all(
        [...callers, ...callers].map((c) => service.report(c, c.machine.id, event, [])),
      );
      for (const r of results) valueOf(r);
      expect(await store.listEvents({ machineId: 'm1' })).toHaveLength(1);
      expect(await store.listEvents({ machineId: 'm2' })).toHaveLength(1);
    });
  });
}

describeReportIds('sqlite', () => openSqliteStore(':memory:'));

describe.skipIf(!postgresTestsEnabled())('PostgreSQL', () => {
  const server = usePostgresServer();
  describeReportIds('postgres', () => server.openStore());
});
