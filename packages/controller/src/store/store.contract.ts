/**
 * The contract every `Store` adapter must meet (STYLE.md §7: one suite per interface, run against
 * each adapter). `describeStoreContract('sqlite', () => openSqliteStore(':memory:'))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewMachine, Store } from '../app/ports.ts';
import type { AllocationConstraints, Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';
import { bootPlanBody, newEvent, newMachine, newUser, uniqueMac } from '../testing/index.ts';

const T0 = Date.UTC(2026, 0, 1);

/** The machine `insertMachine(m)` should give back. */
function stored(m: NewMachine): Machine {
  return { ...m, version: 1, updatedAtMs: m.createdAtMs };
}

function newRack(overrides: Partial<Rack> = {}): Rack {
  return {
    id: 'rack-1',
    name: 'rack-1',
    secretHash: 'ab'.repeat(32),
    hostname: 'rack-1.example',
    version: '0.1.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', cidrs: ['10.0.0.2/24'] }],
    createdAtMs: T0,
    lastSeenAtMs: null,
    connected: false,
    health: null,
    networkConfigVersion: 0,
    ...overrides,
  };
}

/** Registers the contract suite for the store `open` returns (a fresh, empty store each call). */
export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    async function insert(...machines: NewMachine[]): Promise<void> {
      for (const m of machines) await store.insertMachine(m);
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
        await store.insertMachine(m);
        expect(await store.getMachine(m.id)).toEqual(stored(m));
      });

      it('finds a machine by any of its MACs and by hostname', async () => {
        const m = newMachine({ macs: ['02:00:00:00:00:01', '02:00:00:00:00:02'] });
        await insert(m, newMachine());
        expect((await store.getMachineByMac('02:00:00:00:00:02'))?.id).toBe(m.id);
        expect((await store.getMachineByHostname(m.hostname))?.id).toBe(m.id);
        expect(await store.getMachineByMac('02:00:00:00:00:03')).toBeUndefined();
        expect(await store.getMachineByHostname('nope')).toBeUndefined();
        expect(await store.getMachine('nope')).toBeUndefined();
      });

      it('refuses a second machine with a taken MAC and leaves no trace of it', async () => {
        const mac = uniqueMac();
        await insert(newMachine({ macs: [mac] }));
        const clash = newMachine({ macs: [uniqueMac(), mac] });
        await expect(store.insertMachine(clash)).rejects.toThrow();
        expect(await store.getMachine(clash.id)).toBeUndefined();
        expect(await store.countMachines()).toBe(1);
      });

      it('refuses a duplicate hostname', async () => {
        await insert(newMachine({ hostname: 'same' }));
        await expect(store.insertMachine(newMachine({ hostname: 'same' }))).rejects.toThrow();
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
          const listed = await store.listMachines(filter);
          expect(listed.map((m) => m.id)).toEqual(ids);
        });

        it('returns complete machines', async () => {
          const [first] = await store.listMachines({ ids: ['b'] });
          expect(first).toEqual(stored(fleet[1] ?? newMachine()));
        });
      });

      describe('updateMachine', () => {
        it('writes the patch, bumps the version and the update time', async () => {
          const m = newMachine();
          await insert(m);
          const updated = await store.updateMachine(
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
          expect(await store.getMachine(m.id)).toEqual(updated);
        });

        it('refuses a stale version and changes nothing', async () => {
          const m = newMachine();
          await insert(m);
          expect(await store.updateMachine(m.id, 1, { zone: 'z2' }, T0 + 1)).toBeDefined();
          expect(
            await store.updateMachine(m.id, 1, { zone: 'z3', macs: [] }, T0 + 2),
          ).toBeUndefined();
          const now = await store.getMachine(m.id);
          expect(now?.zone).toBe('z2');
          expect(now?.version).toBe(2);
          expect(now?.macs).toEqual(m.macs);
        });

        it('refuses a version from the future and an unknown machine', async () => {
          const m = newMachine();
          await insert(m);
          expect(await store.updateMachine(m.id, 2, { zone: 'z2' }, T0)).toBeUndefined();
          expect(await store.updateMachine('nope', 1, { zone: 'z2' }, T0)).toBeUndefined();
        });

        it('replaces MACs and tags as whole lists, and keeps them when not in the patch', async () => {
          const [oldMac, keptMac, newMac] = [uniqueMac(), uniqueMac(), uniqueMac()];
          const m = newMachine({ macs: [oldMac, keptMac].sort(), tags: ['a', 'b'] });
          await insert(m);
          const v2 = await store.updateMachine(
            m.id,
            1,
            { macs: [keptMac, newMac], tags: ['c', 'b', 'c'] },
            T0,
          );
          expect(v2?.macs).toEqual([keptMac, newMac].sort());
          expect(v2?.tags).toEqual(['b', 'c']);
          expect(await store.getMachineByMac(oldMac)).toBeUndefined();
          expect((await store.getMachineByMac(newMac))?.id).toBe(m.id);

          const v3 = await store.updateMachine(m.id, 2, { zone: 'elsewhere' }, T0);
          expect(v3?.macs).toEqual([keptMac, newMac].sort());
          expect(v3?.tags).toEqual(['b', 'c']);

          const v4 = await store.updateMachine(m.id, 3, { tags: [] }, T0);
          expect(v4?.tags).toEqual([]);
        });

        it('lets exactly one of several concurrent writers of the same version win', async () => {
          const m = newMachine();
          await insert(m);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              store.updateMachine(m.id, 1, { statusMessage: `writer ${i}` }, T0),
            ),
          );
          const winners = results.filter((r) => r !== undefined);
          expect(winners).toHaveLength(1);
          expect((await store.getMachine(m.id))?.statusMessage).toBe(winners[0]?.statusMessage);
        });
      });

      it('deletes a machine with its MACs and tags', async () => {
        const m = newMachine({ tags: ['x'] });
        await insert(m);
        expect(await store.deleteMachine(m.id)).toBe(true);
        expect(await store.deleteMachine(m.id)).toBe(false);
        expect(await store.getMachine(m.id)).toBeUndefined();
        expect(await store.getMachineByMac(m.macs[0] ?? '')).toBeUndefined();
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
        const due = await store.machinesPastDeadline(T0 + 300, 100);
        expect(due.map((m) => m.id)).toEqual(['late', 'later', 'due-now']);
        expect((await store.machinesPastDeadline(T0 + 300, 2)).map((m) => m.id)).toEqual([
          'late',
          'later',
        ]);
        expect(await store.countMachines()).toBe(5);
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
          const m = await store.allocateMachine(constraints, 'user-1', T0 + 1, 'allocated');
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
        const m = await store.allocateMachine({ name: 'bravo' }, 'user-9', T0 + 42, 'allocated');
        expect(m).toEqual({
          ...stored(fleet.bravo),
          status: 'allocated',
          ownerId: 'user-9',
          version: 2,
          updatedAtMs: T0 + 42,
        });
        expect(await store.getMachine('bravo')).toEqual(m);
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
        await store.transaction(async (tx) => {
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
        for (const m of await store.listMachines({})) {
          expect(m.status).toBe('allocated');
          expect(m.ownerId).toBe(owners.get(m.id));
          expect(m.version).toBe(2);
        }
      }

      it(`${callers} concurrent calls over ${machines} ready machines: each machine exactly once`, async () => {
        const results = await Promise.all(
          Array.from({ length: callers }, (_, i) =>
            store.allocateMachine({}, `user-${i}`, T0, 'allocated'),
          ),
        );
        await expectEachMachineOnce(results);
      });

      it('the same, each call inside its own transaction', async () => {
        const results = await Promise.all(
          Array.from({ length: callers }, (_, i) =>
            store.transaction((tx) => tx.allocateMachine({}, `user-${i}`, T0, 'allocated')),
          ),
        );
        await expectEachMachineOnce(results);
      });
    });

    describe('events', () => {
      it('stores new events with increasing seq and returns only those that were new', async () => {
        const a = newEvent({ id: 'a' });
        const b = newEvent({ id: 'b' });
        const first = await store.appendEvents([a, b], T0 + 1);
        expect(first.map((e) => e.id)).toEqual(['a', 'b']);
        expect(first[0]).toEqual({ ...a, seq: first[0]?.seq, recordedAtMs: T0 + 1 });
        const [sa, sb] = first.map((e) => e.seq);
        expect(sb).toBeGreaterThan(sa ?? Infinity);

        const second = await store.appendEvents(
          [newEvent({ id: 'a' }), newEvent({ id: 'c' })],
          T0 + 2,
        );
        expect(second.map((e) => e.id)).toEqual(['c']);
        expect(second[0]?.seq).toBeGreaterThan(sb ?? Infinity);

        const all = await store.listEvents({});
        expect(all.map((e) => e.id)).toEqual(['a', 'b', 'c']);
        // The first copy of `a` is kept as it was.
        expect(all[0]?.recordedAtMs).toBe(T0 + 1);
      });

      it('stores an id repeated within one call once', async () => {
        const stored = await store.appendEvents(
          [newEvent({ id: 'x', message: 'first' }), newEvent({ id: 'x', message: 'again' })],
          T0,
        );
        expect(stored.map((e) => e.id)).toEqual(['x']);
        expect((await store.listEvents({})).map((e) => e.message)).toEqual(['first']);
      });

      it('returns an empty list for an empty or all-duplicate append', async () => {
        expect(await store.appendEvents([], T0)).toEqual([]);
        await store.appendEvents([newEvent({ id: 'dup' })], T0);
        expect(await store.appendEvents([newEvent({ id: 'dup' })], T0)).toEqual([]);
      });

      it('keeps every field and large batches', async () => {
        const rich = newEvent({
          id: 'rich',
          kind: 'transition',
          machineId: 'm1',
          rackId: 'r1',
          step: 'deploy',
          result: 'failed',
          fromStatus: 'allocated',
          toStatus: 'deploying',
          actor: 'user:alice',
          message: 'Deploying',
          data: { os: 'debian', nested: { n: 1, list: [1, 'two'] } },
          occurredAtMs: T0 - 5,
        });
        const many = Array.from({ length: 1_234 }, (_, i) => newEvent({ id: `bulk-${i}` }));
        const stored = await store.appendEvents([rich, ...many], T0);
        expect(stored).toHaveLength(1_235);
        const seqs = stored.map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        const [first] = await store.listEvents({ limit: 1 });
        expect(first).toEqual({ ...rich, seq: first?.seq, recordedAtMs: T0 });
      });

      it('filters by machine, after a seq, and limits, oldest first', async () => {
        const stored = await store.appendEvents(
          [
            newEvent({ id: '1', machineId: 'm1' }),
            newEvent({ id: '2', machineId: 'm2' }),
            newEvent({ id: '3', machineId: 'm1' }),
            newEvent({ id: '4', machineId: null }),
            newEvent({ id: '5', machineId: 'm1' }),
          ],
          T0,
        );
        const seqOf = (id: string): number => stored.find((e) => e.id === id)?.seq ?? -1;
        const ids = async (filter: Parameters<Store['listEvents']>[0]): Promise<string[]> =>
          (await store.listEvents(filter)).map((e) => e.id);
        expect(await ids({})).toEqual(['1', '2', '3', '4', '5']);
        expect(await ids({ machineId: 'm1' })).toEqual(['1', '3', '5']);
        expect(await ids({ afterSeq: seqOf('2') })).toEqual(['3', '4', '5']);
        expect(await ids({ machineId: 'm1', afterSeq: seqOf('1'), limit: 1 })).toEqual(['3']);
        expect(await ids({ limit: 2 })).toEqual(['1', '2']);
        expect(await ids({ afterSeq: seqOf('5') })).toEqual([]);
        expect(await ids({ machineId: 'none' })).toEqual([]);
      });
    });

    describe('users and API keys', () => {
      it('stores users and finds them by id and name', async () => {
        const alice = newUser({ username: 'alice', role: 'admin' });
        const bob = newUser({ username: 'bob' });
        await store.insertUser(bob);
        await store.insertUser(alice);
        expect(await store.getUser(alice.id)).toEqual(alice);
        expect(await store.getUserByName('bob')).toEqual(bob);
        expect(await store.getUserByName('carol')).toBeUndefined();
        expect(await store.listUsers()).toEqual([alice, bob]);
        expect(await store.countUsers()).toBe(2);
        await expect(store.insertUser(newUser({ username: 'alice' }))).rejects.toThrow();
      });

      it('stores API keys', async () => {
        const user = newUser();
        await store.insertUser(user);
        const key = {
          id: 'k1',
          userId: user.id,
          secretHash: 'cd'.repeat(32),
          name: 'ci',
          createdAtMs: T0,
        };
        await store.insertApiKey(key);
        expect(await store.getApiKey('k1')).toEqual(key);
        expect(await store.getApiKey('k2')).toBeUndefined();
      });
    });

    describe('enrollment tokens', () => {
      it('can be used once', async () => {
        await store.insertEnrollmentToken('hash-1', 'user:admin', T0 + 1_000, T0);
        expect(await store.consumeEnrollmentToken('hash-1', T0 + 1)).toBe(true);
        expect(await store.consumeEnrollmentToken('hash-1', T0 + 2)).toBe(false);
      });

      it('can be used once even by concurrent callers', async () => {
        await store.insertEnrollmentToken('hash-1', 'user:admin', T0 + 1_000, T0);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.consumeEnrollmentToken('hash-1', T0 + 1)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it.each([
        ['at the expiry instant', 1_000],
        ['after expiry', 5_000],
      ])('cannot be used %s', async (_, atMs) => {
        await store.insertEnrollmentToken('hash-1', 'user:admin', T0 + 1_000, T0);
        expect(await store.consumeEnrollmentToken('hash-1', T0 + atMs)).toBe(false);
      });

      it('unknown tokens are refused', async () => {
        expect(await store.consumeEnrollmentToken('nope', T0)).toBe(false);
      });
    });

    describe('racks', () => {
      it('stores racks and what their sessions report', async () => {
        const r1 = newRack({ id: 'r1', name: 'zulu' });
        const r2 = newRack({ id: 'r2', name: 'alpha', interfaces: [] });
        await store.insertRack(r1);
        await store.insertRack(r2);
        expect(await store.getRack('r1')).toEqual(r1);
        expect(await store.getRack('r3')).toBeUndefined();
        expect((await store.listRacks()).map((r) => r.id)).toEqual(['r2', 'r1']);

        const health = {
          uptimeSeconds: 5,
          outboxDepth: 0,
          bootPlans: 3,
          rssBytes: 1 << 20,
          services: { dhcp: 'ok' },
        };
        await store.updateRackSeen('r1', {
          lastSeenAtMs: T0 + 9,
          connected: true,
          health,
          version: '0.2.0',
        });
        expect(await store.getRack('r1')).toEqual({
          ...r1,
          lastSeenAtMs: T0 + 9,
          connected: true,
          health,
          version: '0.2.0',
        });
        // Fields not given are kept.
        await store.updateRackSeen('r1', { lastSeenAtMs: T0 + 10, connected: false });
        expect(await store.getRack('r1')).toEqual({
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
        return store.insertRackCommand({
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
        expect((await store.pendingRackCommands('r1')).map((c) => c.id)).toEqual([
          'c1',
          'c3',
          'c4',
        ]);

        expect(await store.ackRackCommands('r1', ['c3', 'c1', 'unknown'], T0 + 1)).toBe(2);
        expect(await store.ackRackCommands('r1', ['c3'], T0 + 2)).toBe(0);
        // A rack cannot acknowledge another rack's commands.
        expect(await store.ackRackCommands('r1', ['c2'], T0 + 2)).toBe(0);
        expect(await store.ackRackCommands('r1', [], T0 + 2)).toBe(0);
        expect((await store.pendingRackCommands('r1')).map((c) => c.id)).toEqual(['c4']);
        expect((await store.pendingRackCommands('r2')).map((c) => c.id)).toEqual(['c2']);
      });

      it('drop superseded: pending commands of one kind for one machine only', async () => {
        await queue('old-plan', 'r1', 'm1', 'boot-plan');
        await queue('acked-plan', 'r1', 'm1', 'boot-plan');
        await store.ackRackCommands('r1', ['acked-plan'], T0);
        await queue('power', 'r1', 'm1', 'power');
        await queue('other-machine', 'r1', 'm2', 'boot-plan');
        expect(await store.dropPendingRackCommands({ machineId: 'm1' }, 'boot-plan', T0 + 1)).toBe(
          1,
        );
        expect(await store.dropPendingRackCommands({ machineId: 'm1' }, 'boot-plan', T0 + 1)).toBe(
          0,
        );
        expect((await store.pendingRackCommands('r1')).map((c) => c.id)).toEqual([
          'power',
          'other-machine',
        ]);
      });
    });

    describe('transaction', () => {
      it('commits everything when the work resolves', async () => {
        const m = newMachine();
        const value = await store.transaction(async (tx) => {
          await tx.insertMachine(m);
          await tx.appendEvents([newEvent({ id: 'e1', machineId: m.id })], T0);
          return 'done';
        });
        expect(value).toBe('done');
        expect(await store.getMachine(m.id)).toEqual(stored(m));
        expect(await store.listEvents({})).toHaveLength(1);
      });

      it('rolls everything back when the work throws, and rethrows', async () => {
        const before = newMachine();
        await insert(before);
        const m = newMachine();
        const user = newUser();
        await expect(
          store.transaction(async (tx) => {
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
        expect(await store.getMachine(m.id)).toBeUndefined();
        expect(await store.getMachine(before.id)).toEqual(stored(before));
        expect(await store.listEvents({})).toEqual([]);
        expect(await store.getUser(user.id)).toBeUndefined();
        expect(await store.consumeEnrollmentToken('hash', T0)).toBe(false);
        expect(await store.pendingRackCommands('r1')).toEqual([]);
        // The store is still usable afterwards.
        await insert(m);
        expect(await store.countMachines()).toBe(2);
      });

      it('isolates concurrent transactions: each sees its own reads consistently', async () => {
        const m = newMachine();
        await insert(m);
        // Read-modify-write in many concurrent transactions: with isolation none is lost.
        await Promise.all(
          Array.from({ length: 25 }, () =>
            store.transaction(async (tx) => {
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
        expect((await store.getMachine(m.id))?.cpuCount).toBe(m.cpuCount + 25);
      });
    });
  });
}
