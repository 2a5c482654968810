/**
 * The machine part of the `Store` contract (STYLE.md §7: one suite per interface, run against
 * each adapter): insert, get, list, compare-and-set update, and atomic allocation.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NewMachine, Store } from '../app/ports.ts';
import type { AllocationConstraints, Machine } from '../domain/machine/machine.ts';
import { newMachine, uniqueMac } from '../testing/index.ts';
import { describeStoreContract, stored, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeMachineStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    async function insert(...machines: NewMachine[]): Promise<void> {
      for (const m of machines) await store().insertMachine(m);
    }

    describe('machines', () => {
      it('round-trips every field through insert and get', async () => {
        const m = newMachine({
          status: 'deploying',
          arch: 'arm64',
          cpuCount: 96,
          memoryMib: 524_288,
          storageGib: 7_680,
          macs: ['02:00:00:00:00:0a', '02:00:00:00:00:0b'],
          tags: ['gpu', 'nvme'],
          zone: 'zone-a',
          pool: 'pool-b',
          ownerId: 'user-1',
          locked: true,
          rackId: 'rack-1',
          power: { type: 'ipmi', params: { address: '10.0.0.9', password: 's3cret' } },
          powerState: 'on',
          powerSeenAtMs: T0 + 5,
          deployment: {
            os: 'debian',
            release: 'bookworm',
            kernel: null,
            userData: '#cloud-config\n',
            ephemeral: true,
          },
          statusMessage: 'Deploying debian bookworm',
          statusDeadlineMs: T0 + 1_800_000,
          lastStep: { step: 'boot.kernel', result: 'succeeded', message: 'ok', atMs: T0 + 3 },
          bootPurpose: 'install',
        });
        await store().insertMachine(m);
        expect(await store().getMachine(m.id)).toEqual(stored(m));
      });

      it('finds a machine by any of its MACs and by hostname', async () => {
        const m = newMachine({ macs: ['02:00:00:00:00:01', '02:00:00:00:00:02'] });
        await insert(m, newMachine());
        expect((await store().getMachineByMac('02:00:00:00:00:02'))?.id).toBe(m.id);
        expect((await store().getMachineByHostname(m.hostname))?.id).toBe(m.id);
        expect(await store().getMachineByMac('02:00:00:00:00:03')).toBeUndefined();
        expect(await store().getMachineByHostname('nope')).toBeUndefined();
        expect(await store().getMachine('nope')).toBeUndefined();
      });

      it('refuses a second machine with a taken MAC and leaves no trace of it', async () => {
        const mac = uniqueMac();
        await insert(newMachine({ macs: [mac] }));
        const clash = newMachine({ macs: [uniqueMac(), mac] });
        await expect(store().insertMachine(clash)).rejects.toThrow();
        expect(await store().getMachine(clash.id)).toBeUndefined();
        expect(await store().countMachines()).toBe(1);
      });

      it('refuses a duplicate hostname', async () => {
        await insert(newMachine({ hostname: 'same' }));
        await expect(store().insertMachine(newMachine({ hostname: 'same' }))).rejects.toThrow();
      });

      describe('listMachines', () => {
        const alice = 'user-alice';
        const bob = 'user-bob';
        const fleet = [
          newMachine({ id: 'a', hostname: 'h-a', status: 'ready' }),
          newMachine({ id: 'b', hostname: 'h-b', status: 'allocated', ownerId: alice }),
          newMachine({ id: 'c', hostname: 'h-c', status: 'deployed', ownerId: bob }),
          newMachine({ id: 'd', hostname: 'h-d', status: 'new' }),
          newMachine({ id: 'e', hostname: 'h-e', status: 'ready' }),
        ];

        beforeEach(async () => {
          // Insert out of order: the listing orders by hostname, not by insertion.
          await insert(...[...fleet].reverse());
        });

        const cases: Record<
          string,
          { filter: Parameters<Store['listMachines']>[0]; ids: string[] }
        > = {
          'no filter: all, by hostname': { filter: {}, ids: ['a', 'b', 'c', 'd', 'e'] },
          'visibleTo: own and unowned': { filter: { visibleTo: alice }, ids: ['a', 'b', 'd', 'e'] },
          'visibleTo someone owning nothing': {
            filter: { visibleTo: 'user-carol' },
            ids: ['a', 'd', 'e'],
          },
          status: { filter: { status: 'ready' }, ids: ['a', 'e'] },
          'status with no machine': { filter: { status: 'broken' }, ids: [] },
          ids: { filter: { ids: ['e', 'c', 'zz'] }, ids: ['c', 'e'] },
          'empty ids: nothing': { filter: { ids: [] }, ids: [] },
          hostname: { filter: { hostname: 'h-d' }, ids: ['d'] },
          limit: { filter: { limit: 2 }, ids: ['a', 'b'] },
          'limit and offset': { filter: { limit: 2, offset: 2 }, ids: ['c', 'd'] },
          'offset alone': { filter: { offset: 3 }, ids: ['d', 'e'] },
          'offset past the end': { filter: { limit: 10, offset: 10 }, ids: [] },
          'filters combine': { filter: { visibleTo: bob, status: 'ready', limit: 1 }, ids: ['a'] },
        };

        it.each(Object.entries(cases))('%s', async (_, { filter, ids }) => {
          const listed = await store().listMachines(filter);
          expect(listed.map((m) => m.id)).toEqual(ids);
        });

        it('counts machines by status in one query (the ingot_machines gauge)', async () => {
          expect(Object.fromEntries(await store().countMachinesByStatus())).toEqual({
            ready: 2,
            allocated: 1,
            deployed: 1,
            new: 1,
          });
        });

        it('returns complete machines', async () => {
          const [first] = await store().listMachines({ ids: ['b'] });
          expect(first).toEqual(stored(fleet[1] ?? newMachine()));
        });
      });

      describe('updateMachine', () => {
        it('writes the patch, bumps the version and the update time', async () => {
          const m = newMachine();
          await insert(m);
          const updated = await store().updateMachine(
            m.id,
            1,
            { status: 'allocated', ownerId: 'user-1', statusMessage: 'mine', lastStep: null },
            T0 + 10,
          );
          expect(updated).toEqual({
            ...stored(m),
            status: 'allocated',
            ownerId: 'user-1',
            statusMessage: 'mine',
            version: 2,
            updatedAtMs: T0 + 10,
          });
          expect(await store().getMachine(m.id)).toEqual(updated);
        });

        it('refuses a stale version and changes nothing', async () => {
          const m = newMachine();
          await insert(m);
          expect(await store().updateMachine(m.id, 1, { zone: 'z2' }, T0 + 1)).toBeDefined();
          expect(
            await store().updateMachine(m.id, 1, { zone: 'z3', macs: [] }, T0 + 2),
          ).toBeUndefined();
          const now = await store().getMachine(m.id);
          expect(now?.zone).toBe('z2');
          expect(now?.version).toBe(2);
          expect(now?.macs).toEqual(m.macs);
        });

        it('refuses a version from the future and an unknown machine', async () => {
          const m = newMachine();
          await insert(m);
          expect(await store().updateMachine(m.id, 2, { zone: 'z2' }, T0)).toBeUndefined();
          expect(await store().updateMachine('nope', 1, { zone: 'z2' }, T0)).toBeUndefined();
        });

        it('replaces MACs and tags as whole lists, and keeps them when not in the patch', async () => {
          const [oldMac, keptMac, newMac] = [uniqueMac(), uniqueMac(), uniqueMac()];
          const m = newMachine({ macs: [oldMac, keptMac].sort(), tags: ['a', 'b'] });
          await insert(m);
          const v2 = await store().updateMachine(
            m.id,
            1,
            { macs: [keptMac, newMac], tags: ['c', 'b', 'c'] },
            T0,
          );
          expect(v2?.macs).toEqual([keptMac, newMac].sort());
          expect(v2?.tags).toEqual(['b', 'c']);
          expect(await store().getMachineByMac(oldMac)).toBeUndefined();
          expect((await store().getMachineByMac(newMac))?.id).toBe(m.id);

          const v3 = await store().updateMachine(m.id, 2, { zone: 'elsewhere' }, T0);
          expect(v3?.macs).toEqual([keptMac, newMac].sort());
          expect(v3?.tags).toEqual(['b', 'c']);

          const v4 = await store().updateMachine(m.id, 3, { tags: [] }, T0);
          expect(v4?.tags).toEqual([]);
        });

        it('lets exactly one of several concurrent writers of the same version win', async () => {
          const m = newMachine();
          await insert(m);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              store().updateMachine(m.id, 1, { statusMessage: `writer ${i}` }, T0),
            ),
          );
          const winners = results.filter((r) => r !== undefined);
          expect(winners).toHaveLength(1);
          expect((await store().getMachine(m.id))?.statusMessage).toBe(winners[0]?.statusMessage);
        });
      });

      it('deletes a machine with its MACs and tags', async () => {
        const m = newMachine({ tags: ['x'] });
        await insert(m);
        expect(await store().deleteMachine(m.id)).toBe(true);
        expect(await store().deleteMachine(m.id)).toBe(false);
        expect(await store().getMachine(m.id)).toBeUndefined();
        expect(await store().getMachineByMac(m.macs[0] ?? '')).toBeUndefined();
        // The MAC and the hostname are free again.
        await insert(newMachine({ hostname: m.hostname, macs: m.macs }));
      });

      it('lists machines past their deadline, earliest first, up to the limit', async () => {
        await insert(
          newMachine({ id: 'late', status: 'deploying', statusDeadlineMs: T0 + 100 }),
          newMachine({ id: 'later', status: 'releasing', statusDeadlineMs: T0 + 200 }),
          newMachine({ id: 'due-now', status: 'commissioning', statusDeadlineMs: T0 + 300 }),
          newMachine({ id: 'not-yet', status: 'deploying', statusDeadlineMs: T0 + 301 }),
          newMachine({ id: 'none', status: 'ready', statusDeadlineMs: null }),
        );
        const due = await store().machinesPastDeadline(T0 + 300, 100);
        expect(due.map((m) => m.id)).toEqual(['late', 'later', 'due-now']);
        expect((await store().machinesPastDeadline(T0 + 300, 2)).map((m) => m.id)).toEqual([
          'late',
          'later',
        ]);
        expect(await store().countMachines()).toBe(5);
      });
    });

    describe('allocateMachine', () => {
      const fleet = {
        alpha: newMachine({
          id: 'alpha',
          hostname: 'alpha',
          arch: 'amd64',
          cpuCount: 4,
          memoryMib: 8_192,
          storageGib: 100,
          tags: ['gpu', 'ssd'],
          zone: 'z1',
          pool: 'p1',
        }),
        bravo: newMachine({
          id: 'bravo',
          hostname: 'bravo',
          arch: 'arm64',
          cpuCount: 16,
          memoryMib: 65_536,
          storageGib: 1_000,
          tags: ['ssd'],
          zone: 'z2',
          pool: 'p1',
        }),
        charlie: newMachine({
          id: 'charlie',
          hostname: 'charlie',
          arch: 'amd64',
          cpuCount: 32,
          memoryMib: 131_072,
          storageGib: 2_000,
          tags: [],
          zone: 'z1',
          pool: 'p2',
        }),
        // Would match everything, but is locked.
        delta: newMachine({
          id: 'delta',
          hostname: 'delta',
          cpuCount: 128,
          memoryMib: 1 << 20,
          storageGib: 10_000,
          tags: ['gpu', 'ssd'],
          zone: 'z1',
          pool: 'p1',
          locked: true,
        }),
        // Would match everything, but is not ready.
        echo: newMachine({
          id: 'echo',
          hostname: 'echo',
          cpuCount: 128,
          memoryMib: 1 << 20,
          storageGib: 10_000,
          tags: ['gpu', 'ssd'],
          zone: 'z1',
          pool: 'p1',
          status: 'deployed',
          ownerId: 'user-other',
        }),
        foxtrot: newMachine({ id: 'foxtrot', hostname: 'foxtrot', status: 'new' }),
        golf: newMachine({ id: 'golf', hostname: 'golf', status: 'broken' }),
      };

      beforeEach(async () => {
        await insert(...Object.values(fleet));
      });

      /** Allocates until nothing is left; returns the ids in the order they were picked. */
      async function drain(constraints: AllocationConstraints): Promise<string[]> {
        const ids: string[] = [];
        for (;;) {
          const m = await store().allocateMachine(constraints, 'user-1', T0 + 1, 'allocated');
          if (m === undefined) return ids;
          ids.push(m.id);
          if (ids.length > 10) throw new Error('allocated more machines than exist');
        }
      }

      const cases: Record<string, { constraints: AllocationConstraints; ids: string[] }> = {
        'no constraints: every ready, unlocked machine': {
          constraints: {},
          ids: ['alpha', 'bravo', 'charlie'],
        },
        'name matches a hostname': { constraints: { name: 'bravo' }, ids: ['bravo'] },
        'name matches an id': { constraints: { name: 'charlie' }, ids: ['charlie'] },
        'name of a locked machine': { constraints: { name: 'delta' }, ids: [] },
        'name of a deployed machine': { constraints: { name: 'echo' }, ids: [] },
        'name of a new machine': { constraints: { name: 'foxtrot' }, ids: [] },
        'name of a broken machine': { constraints: { name: 'golf' }, ids: [] },
        'unknown name': { constraints: { name: 'hotel' }, ids: [] },
        arch: { constraints: { arch: 'arm64' }, ids: ['bravo'] },
        'arch with no machine': { constraints: { arch: 's390x' }, ids: [] },
        'cpuCount is a minimum (inclusive)': {
          constraints: { cpuCount: 16 },
          ids: ['bravo', 'charlie'],
        },
        'memoryMib is a minimum (inclusive)': {
          constraints: { memoryMib: 65_536 },
          ids: ['bravo', 'charlie'],
        },
        'storageGib is a minimum': { constraints: { storageGib: 1_001 }, ids: ['charlie'] },
        'cpuCount above every machine': { constraints: { cpuCount: 33 }, ids: [] },
        'one tag': { constraints: { tags: ['ssd'] }, ids: ['alpha', 'bravo'] },
        'tags are all-of': { constraints: { tags: ['ssd', 'gpu'] }, ids: ['alpha'] },
        'an unknown tag matches nothing': { constraints: { tags: ['ssd', 'fpga'] }, ids: [] },
        'empty tags: no constraint': {
          constraints: { tags: [] },
          ids: ['alpha', 'bravo', 'charlie'],
        },
        'notTags excludes': { constraints: { notTags: ['gpu'] }, ids: ['bravo', 'charlie'] },
        'notTags are none-of': { constraints: { notTags: ['gpu', 'ssd'] }, ids: ['charlie'] },
        zone: { constraints: { zone: 'z1' }, ids: ['alpha', 'charlie'] },
        pool: { constraints: { pool: 'p2' }, ids: ['charlie'] },
        'systemId matches the id': { constraints: { systemId: 'bravo' }, ids: ['bravo'] },
        'systemId of a locked machine': { constraints: { systemId: 'delta' }, ids: [] },
        'systemId and name must both match': {
          constraints: { name: 'bravo', systemId: 'charlie' },
          ids: [],
        },
        'notInZones excludes': { constraints: { notInZones: ['z1'] }, ids: ['bravo'] },
        'notInZones are none-of': { constraints: { notInZones: ['z1', 'z2'] }, ids: [] },
        'empty notInZones: no constraint': {
          constraints: { notInZones: [] },
          ids: ['alpha', 'bravo', 'charlie'],
        },
        'notInPools excludes': { constraints: { notInPools: ['p1'] }, ids: ['charlie'] },
        'constraints combine': {
          constraints: { arch: 'amd64', zone: 'z1', notTags: ['gpu'], cpuCount: 8 },
          ids: ['charlie'],
        },
        'contradictory constraints': { constraints: { tags: ['gpu'], notTags: ['gpu'] }, ids: [] },
      };

      it.each(Object.entries(cases))('%s', async (_, { constraints, ids }) => {
        expect((await drain(constraints)).sort()).toEqual(ids);
      });

      it('marks the machine with the status and owner, bumps the version, touches nothing else', async () => {
        const m = await store().allocateMachine({ name: 'bravo' }, 'user-9', T0 + 42, 'allocated');
        expect(m).toEqual({
          ...stored(fleet.bravo),
          status: 'allocated',
          ownerId: 'user-9',
          version: 2,
          updatedAtMs: T0 + 42,
        });
        expect(await store().getMachine('bravo')).toEqual(m);
      });

      it('never picks a machine twice', async () => {
        expect(await drain({ name: 'alpha' })).toEqual(['alpha']);
        expect(await drain({ name: 'alpha' })).toEqual([]);
      });
    });

    describe('allocateMachine under contention', () => {
      const machines = 500;
      const callers = 1_000;

      beforeEach(async () => {
        await store().transaction(async (tx) => {
          for (let i = 0; i < machines; i++) {
            await tx.insertMachine(newMachine({ id: `m${String(i).padStart(4, '0')}` }));
          }
        });
      });

      async function expectEachMachineOnce(results: (Machine | undefined)[]): Promise<void> {
        const won = results.filter((m) => m !== undefined);
        expect(won).toHaveLength(machines);
        expect(new Set(won.map((m) => m.id)).size).toBe(machines);
        expect(results.filter((m) => m === undefined)).toHaveLength(callers - machines);
        const owners = new Map(won.map((m) => [m.id, m.ownerId]));
        for (const m of await store().listMachines({})) {
          expect(m.status).toBe('allocated');
          expect(m.ownerId).toBe(owners.get(m.id));
          expect(m.version).toBe(2);
        }
      }

      it(`${callers} concurrent calls over ${machines} ready machines: each machine exactly once`, async () => {
        const results = await Promise.all(
          Array.from({ length: callers }, (_, i) =>
            store().allocateMachine({}, `user-${i}`, T0, 'allocated'),
          ),
        );
        await expectEachMachineOnce(results);
      });

      it(`${machines} concurrent calls over ${machines} ready machines: every call gets one`, async () => {
        // A caller that loses a race for a row must move on to another, not report "none":
        // on PostgreSQL a plain UPDATE … WHERE id = (SELECT …) makes the loser re-check the row
        // it picked, find it taken and update nothing while other machines are still ready.
        const results = await Promise.all(
          Array.from({ length: machines }, (_, i) =>
            store().allocateMachine({}, `user-${i}`, T0, 'allocated'),
          ),
        );
        const won = results.filter((m) => m !== undefined);
        expect(won).toHaveLength(machines);
        expect(new Set(won.map((m) => m.id)).size).toBe(machines);
      });

      it('the same, each call inside its own transaction', async () => {
        const results = await Promise.all(
          Array.from({ length: callers }, (_, i) =>
            store().transaction((tx) => tx.allocateMachine({}, `user-${i}`, T0, 'allocated')),
          ),
        );
        await expectEachMachineOnce(results);
      });
    });
  });
}
