import { describe, expect, it } from 'vitest';
import { err, FakeClock, ok } from '@ingot/common';
import {
  newEvent,
  newMachine,
  openSqliteStore,
  RecordingEventBus,
  RecordingRackNotifier,
  valueOf,
} from '../testing/index.ts';
import { retryMachineWrite } from './retry-machine-write.ts';

describe('retryMachineWrite', () => {
  it('rolls back what a stale attempt wrote, and publishes what the next one appended itself', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      await store.insertMachine(newMachine({ id: 'm1' }));
      const bus = new RecordingEventBus();
      const deps = { store, bus, racks: new RecordingRackNotifier(), clock: new FakeClock() };
      let tries = 0;
      const machine = await retryMachineWrite(
        deps,
        'm1',
        { kind: 'machine', machineId: 'm1' },
        async (m, tx, now) => {
          tries++;
          const appended = await tx.appendEvents([newEvent({ id: `claim-${tries}` })], now);
          if (tries === 1) return err({ kind: 'stale', machineId: 'm1' });
          return ok({
            machine: m,
            events: [newEvent({ id: 'after' })],
            racksToNotify: [],
            appended,
          });
        },
      );
      expect(valueOf(machine).id).toBe('m1');
      expect(tries).toBe(2);
      expect((await store.listEvents({})).map((e) => e.id)).toEqual(['claim-2', 'after']);
      expect(bus.published.map((e) => e.id)).toEqual(['claim-2', 'after']);
    } finally {
      await store.close();
    }
  });
});
