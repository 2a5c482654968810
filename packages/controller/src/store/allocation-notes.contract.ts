/**
 * The allocation-notes part of the `Store` contract: MAAS's `agent_name` and `owner_data` kept
 * per machine, replaced whole, removed when empty and with their machine.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { NO_NOTES } from '../domain/machine/allocation-notes.ts';
import { newMachine } from '../testing/index.ts';
import { describeStoreContract, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeAllocationNotesStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    beforeEach(async () => {
      await store().insertMachine(newMachine({ id: 'm1', hostname: 'm1' }));
      await store().insertMachine(newMachine({ id: 'm2', hostname: 'm2' }));
    });

    describe('allocation notes', () => {
      it('are empty until put, then read back per machine, replaced whole', async () => {
        expect(await store().getAllocationNotes('m1')).toEqual(NO_NOTES);
        const notes = { agentName: 'juju-1', ownerData: { 'juju-model': 'abc', é: 'ü' } };
        await store().putAllocationNotes('m1', notes);
        expect(await store().getAllocationNotes('m1')).toEqual(notes);
        expect(await store().getAllocationNotes('m2')).toEqual(NO_NOTES);
        await store().putAllocationNotes('m1', { agentName: null, ownerData: { k: 'v' } });
        expect(await store().getAllocationNotes('m1')).toEqual({
          agentName: null,
          ownerData: { k: 'v' },
        });
      });

      it('empty notes remove them; deleting the machine removes its notes', async () => {
        await store().putAllocationNotes('m1', { agentName: 'a', ownerData: {} });
        await store().putAllocationNotes('m1', NO_NOTES);
        expect(await store().getAllocationNotes('m1')).toEqual(NO_NOTES);
        await store().putAllocationNotes('m2', { agentName: 'a', ownerData: { k: 'v' } });
        await store().deleteMachine('m2');
        await store().insertMachine(newMachine({ id: 'm2', hostname: 'm2' }));
        expect(await store().getAllocationNotes('m2')).toEqual(NO_NOTES);
      });

      it('roll back with their transaction', async () => {
        await expect(
          store().transaction(async (tx) => {
            await tx.putAllocationNotes('m1', { agentName: 'a', ownerData: {} });
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        expect(await store().getAllocationNotes('m1')).toEqual(NO_NOTES);
      });
    });
  });
}
