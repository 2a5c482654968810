/**
 * The rack part of the `Store` contract: racks and what their sessions report, and the queue of
 * commands for them.
 */
import { describe, expect, it } from 'vitest';
import { bootPlanBody } from '../testing/index.ts';
import { describeStoreContract, newRack, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeRackStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('racks', () => {
      it('stores racks and what their sessions report', async () => {
        const r1 = newRack({ id: 'r1', name: 'zulu' });
        const r2 = newRack({ id: 'r2', name: 'alpha', interfaces: [] });
        await store().insertRack(r1);
        await store().insertRack(r2);
        expect(await store().getRack('r1')).toEqual(r1);
        expect(await store().getRack('r3')).toBeUndefined();
        expect((await store().listRacks()).map((r) => r.id)).toEqual(['r2', 'r1']);

        const health = {
          uptimeSeconds: 5,
          outboxDepth: 0,
          bootPlans: 3,
          rssBytes: 1 << 20,
          services: { dhcp: 'ok' },
        };
        await store().updateRackSeen('r1', {
          lastSeenAtMs: T0 + 9,
          connected: true,
          health,
          version: '0.2.0',
        });
        expect(await store().getRack('r1')).toEqual({
          ...r1,
          lastSeenAtMs: T0 + 9,
          connected: true,
          health,
          version: '0.2.0',
        });
        // Fields not given are kept.
        await store().updateRackSeen('r1', { lastSeenAtMs: T0 + 10, connected: false });
        expect(await store().getRack('r1')).toEqual({
          ...r1,
          lastSeenAtMs: T0 + 10,
          connected: false,
          health,
          version: '0.2.0',
        });
      });
    });

    describe('rack commands', () => {
      async function queue(
        id: string,
        rackId: string,
        machineId: string | null,
        kind: 'boot-plan' | 'power',
      ) {
        return store().insertRackCommand({
          id,
          rackId,
          machineId,
          body:
            kind === 'boot-plan'
              ? bootPlanBody(machineId ?? 'none')
              : {
                  kind: 'power',
                  machineId: machineId ?? 'none',
                  action: 'on',
                  driver: 'manual',
                  params: {},
                  pxeOnce: true,
                },
          createdAtMs: T0,
        });
      }

      it('are pending in the order they were queued, per rack, until acknowledged', async () => {
        const c1 = await queue('c1', 'r1', 'm1', 'boot-plan');
        await queue('c2', 'r2', 'm2', 'power');
        await queue('c3', 'r1', 'm1', 'power');
        await queue('c4', 'r1', null, 'power');
        expect(c1).toEqual({
          seq: c1.seq,
          id: 'c1',
          rackId: 'r1',
          machineId: 'm1',
          body: bootPlanBody('m1'),
          createdAtMs: T0,
          ackedAtMs: null,
        });
        expect((await store().pendingRackCommands('r1')).map((c) => c.id)).toEqual([
          'c1',
          'c3',
          'c4',
        ]);

        expect(await store().ackRackCommands('r1', ['c3', 'c1', 'unknown'], T0 + 1)).toBe(2);
        expect(await store().ackRackCommands('r1', ['c3'], T0 + 2)).toBe(0);
        // A rack cannot acknowledge another rack's commands.
        expect(await store().ackRackCommands('r1', ['c2'], T0 + 2)).toBe(0);
        expect(await store().ackRackCommands('r1', [], T0 + 2)).toBe(0);
        expect((await store().pendingRackCommands('r1')).map((c) => c.id)).toEqual(['c4']);
        expect((await store().pendingRackCommands('r2')).map((c) => c.id)).toEqual(['c2']);
      });

      it('drop superseded: pending commands of one kind for one machine only', async () => {
        await queue('old-plan', 'r1', 'm1', 'boot-plan');
        await queue('acked-plan', 'r1', 'm1', 'boot-plan');
        await store().ackRackCommands('r1', ['acked-plan'], T0);
        await queue('power', 'r1', 'm1', 'power');
        await queue('other-machine', 'r1', 'm2', 'boot-plan');
        expect(
          await store().dropPendingRackCommands({ machineId: 'm1' }, 'boot-plan', T0 + 1),
        ).toBe(1);
        expect(
          await store().dropPendingRackCommands({ machineId: 'm1' }, 'boot-plan', T0 + 1),
        ).toBe(0);
        expect((await store().pendingRackCommands('r1')).map((c) => c.id)).toEqual([
          'power',
          'other-machine',
        ]);
      });
    });
  });
}
