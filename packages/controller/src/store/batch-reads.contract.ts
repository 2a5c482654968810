/**
 * The listing reads of the `Store` contract: hardware and events of many machines in one query
 * (what the MAAS machine listing uses instead of a query per machine).
 */
import { describe, expect, it } from 'vitest';
import { newEvent, newMachine } from '../testing/index.ts';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeBatchReadsStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('batch reads for listings', () => {
      it('lists the hardware of the machines asked for that have any', async () => {
        for (const id of ['m1', 'm2', 'm3']) {
          await store().insertMachine(
            newMachine({ id, hostname: id, macs: [`02:00:00:00:02:0${id.slice(1)}`] }),
          );
        }
        const disk = { name: 'sda', sizeBytes: 1e9, model: 'x', serial: 's' };
        for (const id of ['m1', 'm3']) {
          await store().putMachineHardware({
            machineId: id,
            disks: [disk],
            nics: [{ name: 'eth0', mac: '02:00:00:00:02:01' }],
            recordedAtMs: T0,
          });
        }
        const listed = await store().listMachineHardware(['m1', 'm2', 'm3', 'nosuch']);
        expect(listed.map((h) => h.machineId).sort()).toEqual(['m1', 'm3']);
        expect(listed[0]).toEqual(await store().getMachineHardware(listed[0]?.machineId ?? ''));
        expect(await store().listMachineHardware([])).toEqual([]);
      });

      it('lists events of several machines and steps, in seq order', async () => {
        const step = (machineId: string, s: string) =>
          newEvent({ kind: 'step', machineId, step: s });
        await store().appendEvents(
          [
            step('a', 'dhcp.ack'),
            step('b', 'boot.kernel'),
            step('b', 'dhcp.ack'),
            step('c', 'dhcp.ack'),
            step('a', 'dhcp.ack'),
          ],
          T0,
        );
        const acks = await store().listEvents({ machineIds: ['a', 'b'], steps: ['dhcp.ack'] });
        expect(acks.map((e) => `${e.machineId ?? ''}:${e.step}`)).toEqual([
          'a:dhcp.ack',
          'b:dhcp.ack',
          'a:dhcp.ack',
        ]);
        expect(await store().listEvents({ machineIds: [] })).toEqual([]);
        expect(await store().listEvents({ steps: [] })).toEqual([]);
        const paged = await store().listEvents({
          machineIds: ['a', 'b', 'c'],
          steps: ['dhcp.ack'],
          afterSeq: acks[0]?.seq,
          limit: 2,
        });
        expect(paged.map((e) => e.machineId)).toEqual(['b', 'c']);
      });
    });
  });
}
