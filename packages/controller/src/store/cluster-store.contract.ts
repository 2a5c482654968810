/**
 * The cluster part of the `Store` contract: rack session leases shared by several controllers
 * (claim, take-over, renew, release, expiry) and the end of the event log.
 */
import { describe, expect, it } from 'vitest';
import type { RackSessionClaim } from '../app/cluster-store.ts';
import { newEvent } from '../testing/index.ts';
import { describeStoreContract, newRack, T0, type OpenStore } from './store-contract-fixtures.ts';

function claim(overrides: Partial<RackSessionClaim> = {}): RackSessionClaim {
  return {
    rackId: 'r1',
    controllerId: 'ctl-a',
    controllerName: 'a',
    sessionId: 's1',
    nowMs: T0,
    expiresAtMs: T0 + 15_000,
    ...overrides,
  };
}

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeClusterStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('cluster: rack session leases', () => {
      it('a claim records the holder; a later claim takes the rack over and names who had it', async () => {
        await store().insertRack(newRack({ id: 'r1' }));
        expect(await store().cluster.claimRackSession(claim())).toBeUndefined();
        expect(await store().cluster.getRackSession('r1')).toEqual({
          rackId: 'r1',
          controllerId: 'ctl-a',
          controllerName: 'a',
          sessionId: 's1',
          startedAtMs: T0,
          renewedAtMs: T0,
          expiresAtMs: T0 + 15_000,
        });
        const previous = await store().cluster.claimRackSession(
          claim({ controllerId: 'ctl-b', controllerName: 'b', sessionId: 's2', nowMs: T0 + 5 }),
        );
        expect(previous).toMatchObject({ controllerId: 'ctl-a', sessionId: 's1' });
        expect(await store().cluster.listRackSessions()).toMatchObject([
          { rackId: 'r1', controllerId: 'ctl-b', sessionId: 's2', startedAtMs: T0 + 5 },
        ]);
      });

      it('renews only the leases the controller still holds', async () => {
        await store().insertRack(newRack({ id: 'r1', name: 'one' }));
        await store().insertRack(newRack({ id: 'r2', name: 'two' }));
        await store().cluster.claimRackSession(claim({ rackId: 'r1', sessionId: 's1' }));
        await store().cluster.claimRackSession(claim({ rackId: 'r2', sessionId: 's2' }));
        // Controller b takes r2 over.
        await store().cluster.claimRackSession(
          claim({ rackId: 'r2', controllerId: 'ctl-b', sessionId: 's3' }),
        );
        const renewed = await store().cluster.renewRackSessions(
          'ctl-a',
          ['s1', 's2'],
          T0 + 1_000,
          T0 + 16_000,
        );
        expect(renewed).toEqual(['s1']);
        expect(await store().cluster.getRackSession('r1')).toMatchObject({
          renewedAtMs: T0 + 1_000,
          expiresAtMs: T0 + 16_000,
        });
        expect(await store().cluster.getRackSession('r2')).toMatchObject({
          controllerId: 'ctl-b',
          expiresAtMs: T0 + 15_000,
        });
        expect(await store().cluster.renewRackSessions('ctl-a', [], T0, T0)).toEqual([]);
      });

      it('releases a lease only for the session that holds it', async () => {
        await store().insertRack(newRack({ id: 'r1' }));
        await store().cluster.claimRackSession(claim({ sessionId: 's1' }));
        await store().cluster.claimRackSession(claim({ controllerId: 'ctl-b', sessionId: 's2' }));
        expect(await store().cluster.releaseRackSession('r1', 's1')).toBe(false);
        expect((await store().cluster.getRackSession('r1'))?.sessionId).toBe('s2');
        expect(await store().cluster.releaseRackSession('r1', 's2')).toBe(true);
        expect(await store().cluster.getRackSession('r1')).toBeUndefined();
      });

      it('takes expired leases once, and leaves live ones', async () => {
        for (const id of ['r1', 'r2', 'r3']) await store().insertRack(newRack({ id, name: id }));
        await store().cluster.claimRackSession(claim({ rackId: 'r1', expiresAtMs: T0 + 10 }));
        await store().cluster.claimRackSession(claim({ rackId: 'r2', expiresAtMs: T0 + 20 }));
        await store().cluster.claimRackSession(claim({ rackId: 'r3', expiresAtMs: T0 + 99 }));
        const taken = await store().cluster.takeExpiredRackSessions(T0 + 20, 10);
        expect(taken.map((l) => l.rackId).sort()).toEqual(['r1', 'r2']);
        expect(await store().cluster.takeExpiredRackSessions(T0 + 20, 10)).toEqual([]);
        expect((await store().cluster.listRackSessions()).map((l) => l.rackId)).toEqual(['r3']);
      });

      it('concurrent claims of one rack leave exactly one holder', async () => {
        await store().insertRack(newRack({ id: 'r1' }));
        const ids = Array.from({ length: 20 }, (_, i) => `s${String(i)}`);
        const previous = await Promise.all(
          ids.map((sessionId, i) =>
            store().cluster.claimRackSession(
              claim({ sessionId, controllerId: i % 2 === 0 ? 'ctl-a' : 'ctl-b' }),
            ),
          ),
        );
        const holder = await store().cluster.getRackSession('r1');
        expect(ids).toContain(holder?.sessionId);
        // Each claim replaced the one before it: every session but the holder was replaced once.
        const replaced = previous.flatMap((p) => (p === undefined ? [] : [p.sessionId]));
        expect(previous.filter((p) => p === undefined)).toHaveLength(1);
        expect(new Set(replaced).size).toBe(19);
        expect(replaced).not.toContain(holder?.sessionId);
      });
    });

    describe('cluster: event log end', () => {
      it('is 0 on an empty log and the largest seq after appends', async () => {
        expect(await store().cluster.lastEventSeq()).toBe(0);
        const stored = await store().appendEvents(
          [newEvent({ id: 'e1' }), newEvent({ id: 'e2' })],
          T0,
        );
        expect(await store().cluster.lastEventSeq()).toBe(stored.at(-1)?.seq);
      });
    });
  });
}
