/**
 * The transaction part of the `Store` contract: all or nothing, nested transactions join the
 * outer one, concurrent transactions are isolated.
 */
import { describe, expect, it } from 'vitest';
import type { NewMachine } from '../app/ports.ts';
import { bootPlanBody, newEvent, newMachine, newUser } from '../testing/index.ts';
import { describeStoreContract, stored, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeStoreTransactionContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    async function insert(...machines: NewMachine[]): Promise<void> {
      for (const m of machines) await store().insertMachine(m);
    }

    describe('transaction', () => {
      it('commits everything when the work resolves', async () => {
        const m = newMachine();
        const value = await store().transaction(async (tx) => {
          await tx.insertMachine(m);
          await tx.appendEvents([newEvent({ id: 'e1', machineId: m.id })], T0);
          return 'done';
        });
        expect(value).toBe('done');
        expect(await store().getMachine(m.id)).toEqual(stored(m));
        expect(await store().listEvents({})).toHaveLength(1);
      });

      it('rolls everything back when the work throws, and rethrows', async () => {
        const before = newMachine();
        await insert(before);
        const m = newMachine();
        const user = newUser();
        await expect(
          store().transaction(async (tx) => {
            await tx.insertMachine(m);
            await tx.updateMachine(before.id, 1, { zone: 'changed', macs: [], tags: ['t'] }, T0);
            await tx.allocateMachine({}, 'user-1', T0, 'allocated');
            await tx.appendEvents([newEvent({ id: 'e1' })], T0);
            await tx.insertUser(user);
            await tx.insertEnrollmentToken('hash', 'system', T0 + 10, T0);
            await tx.insertRackCommand({
              id: 'c1',
              rackId: 'r1',
              machineId: m.id,
              body: bootPlanBody(m.id),
              createdAtMs: T0,
            });
            // Nested transactions join the outer one.
            await tx.transaction(async (inner) => {
              await inner.appendEvents([newEvent({ id: 'e2' })], T0);
            });
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store().getMachine(m.id)).toBeUndefined();
        expect(await store().getMachine(before.id)).toEqual(stored(before));
        expect(await store().listEvents({})).toEqual([]);
        expect(await store().getUser(user.id)).toBeUndefined();
        expect(await store().consumeEnrollmentToken('hash', T0)).toBe(false);
        expect(await store().pendingRackCommands('r1')).toEqual([]);
        // The store is still usable afterwards.
        await insert(m);
        expect(await store().countMachines()).toBe(2);
      });

      it('isolates concurrent transactions: each sees its own reads consistently', async () => {
        const m = newMachine();
        await insert(m);
        // Read-modify-write in many concurrent transactions: with isolation none is lost.
        await Promise.all(
          Array.from({ length: 25 }, () =>
            store().transaction(async (tx) => {
              const current = await tx.getMachine(m.id);
              if (current === undefined) throw new Error('gone');
              const next = await tx.updateMachine(
                m.id,
                current.version,
                { cpuCount: current.cpuCount + 1 },
                T0,
              );
              if (next === undefined) throw new Error('lost a write');
            }),
          ),
        );
        expect((await store().getMachine(m.id))?.cpuCount).toBe(m.cpuCount + 25);
      });
    });
  });
}
