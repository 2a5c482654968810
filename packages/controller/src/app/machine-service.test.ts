import { beforeEach, describe, expect, it } from 'vitest';
import type { Machine } from '../domain/machine/machine.ts';
import { errorOf, snapshotStore, uniqueMac, valueOf } from '../testing/index.ts';
import { useServiceFixture } from '../testing/use-service-fixture.ts';

const t = useServiceFixture(['alice', 'bob']);

describe('create', () => {
  it('creates a ready machine when the operator supplies the facts, and writes an event', async () => {
    t.f.bus.clear();
    const mac = uniqueMac();
    const m = valueOf(
      await t.f.machines.create(t.f.admin.actor, {
        hostname: 'node-1',
        arch: 'arm64',
        macs: [mac],
        cpuCount: 8,
        commission: false,
      }),
    );
    expect(m).toMatchObject({
      hostname: 'node-1',
      status: 'ready',
      arch: 'arm64',
      macs: [mac],
      cpuCount: 8,
      ownerId: null,
      version: 1,
    });
    const events = await t.f.store.listEvents({ machineId: m.id });
    expect(events).toMatchObject([
      {
        kind: 'transition',
        step: 'create',
        fromStatus: null,
        toStatus: 'ready',
        actor: 'user:admin',
      },
    ]);
    expect(t.f.bus.published).toEqual(events);
  });

  it('enlists as new when it is to be commissioned but has no power settings', async () => {
    const m = valueOf(
      await t.f.machines.create(t.f.admin.actor, {
        arch: 'amd64',
        macs: [uniqueMac()],
        commission: true,
      }),
    );
    expect(m.status).toBe('new');
    expect(m.hostname).toBe(`machine-${m.id}`);
  });

  it('starts commissioning at once when it has power settings and a rack serves it', async () => {
    const { rack } = await t.f.enrollRack();
    const m = valueOf(
      await t.f.machines.create(t.f.admin.actor, {
        arch: 'amd64',
        macs: [uniqueMac()],
        power: { type: 'ipmi', params: { address: '10.0.0.9' } },
        commission: true,
      }),
    );
    expect(m).toMatchObject({
      status: 'commissioning',
      rackId: rack.id,
      bootPurpose: 'commission',
    });
    const pending = await t.f.store.pendingRackCommands(rack.id);
    expect(pending.map((c) => c.body)).toMatchObject([
      { kind: 'boot-plan', purpose: 'commission' },
      {
        kind: 'power',
        action: 'on',
        pxeOnce: true,
        driver: 'ipmi',
        params: { sealed: expect.stringMatching(/^v1:/) as unknown }, // opened by rpc/convert.ts
      },
    ]);
  });

  it.each(
    Object.entries({
      'a non-admin': () =>
        Promise.resolve({
          actor: t.alice.actor,
          input: { arch: 'amd64' as const, macs: [uniqueMac()], commission: false },
          kind: 'forbidden',
        }),
      'a MAC another machine has': async () => {
        const other = await t.f.createMachine();
        return {
          actor: t.f.admin.actor,
          input: { arch: 'amd64' as const, macs: [uniqueMac(), ...other.macs], commission: false },
          kind: 'conflict',
        };
      },
      'a hostname another machine has': async () => {
        const other = await t.f.createMachine();
        return {
          actor: t.f.admin.actor,
          input: {
            arch: 'amd64' as const,
            hostname: other.hostname,
            macs: [uniqueMac()],
            commission: false,
          },
          kind: 'conflict',
        };
      },
      'an unknown rack': () =>
        Promise.resolve({
          actor: t.f.admin.actor,
          input: { arch: 'amd64' as const, macs: [uniqueMac()], rackId: 'nope', commission: false },
          kind: 'invalid',
        }),
    }),
  )('refuses %s and changes nothing', async (_, setup) => {
    const { actor, input, kind } = await setup();
    const before = await snapshotStore(t.f.store);
    expect(errorOf(await t.f.machines.create(actor, input)).kind).toBe(kind);
    expect(await snapshotStore(t.f.store)).toEqual(before);
  });
});

describe('allocate', () => {
  it('gives a ready machine to the user and writes an event', async () => {
    const m = await t.f.createMachine({ tags: ['gpu'] });
    t.f.bus.clear();
    const allocated = valueOf(await t.f.machines.allocate(t.alice.actor, { tags: ['gpu'] }));
    expect(allocated).toMatchObject({ id: m.id, status: 'allocated', ownerId: t.alice.user.id });
    expect(t.f.bus.published).toMatchObject([
      {
        kind: 'transition',
        step: 'allocate',
        fromStatus: 'ready',
        toStatus: 'allocated',
        actor: 'user:alice',
      },
    ]);
  });

  it('answers no-match when nothing fits, and writes nothing', async () => {
    await t.f.createMachine({ arch: 'amd64' });
    const before = await snapshotStore(t.f.store);
    expect(errorOf(await t.f.machines.allocate(t.alice.actor, { arch: 'arm64' })).kind).toBe(
      'no-match',
    );
    expect(await snapshotStore(t.f.store)).toEqual(before);
  });

  it('never gives one machine to two concurrent callers', async () => {
    for (let i = 0; i < 25; i++) await t.f.createMachine();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        t.f.machines.allocate(i % 2 === 0 ? t.alice.actor : t.bob.actor, {}),
      ),
    );
    const won = results.flatMap((r) => (r.ok ? [r.value] : []));
    expect(won).toHaveLength(25);
    expect(new Set(won.map((m) => m.id)).size).toBe(25);
    expect(results.filter((r) => !r.ok && r.error.kind === 'no-match')).toHaveLength(35);
    const allocations = (await t.f.store.listEvents({})).filter((e) => e.step === 'allocate');
    expect(allocations).toHaveLength(25);
  });
});

describe('ownership', () => {
  let mine: Machine;

  beforeEach(async () => {
    await t.f.enrollRack();
    mine = await t.f.allocatedMachine(t.alice);
  });

  it('hides machines owned by others, and shows unowned ones', async () => {
    const unowned = await t.f.createMachine();
    const bobs = await t.f.allocatedMachine(t.bob);
    const ids = (await t.f.machines.list(t.alice.actor)).map((m) => m.id).sort();
    expect(ids).toEqual([mine.id, unowned.id].sort());
    expect(errorOf(await t.f.machines.get(t.alice.actor, bobs.id))).toEqual({
      kind: 'not-found',
      entity: 'machine',
      id: bobs.id,
    });
    expect((await t.f.machines.list(t.f.admin.actor)).map((m) => m.id).sort()).toEqual(
      [mine.id, unowned.id, bobs.id].sort(),
    );
  });

  it.each(
    Object.entries({
      deploy: () =>
        t.f.machines.deploy(t.bob.actor, mine.id, { os: 'debian', release: 'bookworm' }),
      release: () => t.f.machines.act(t.bob.actor, mine.id, 'release', { message: 'mine now' }),
      abort: () => t.f.machines.act(t.bob.actor, mine.id, 'abort', { message: 'x' }),
      'mark broken': () => t.f.machines.act(t.bob.actor, mine.id, 'mark_broken', { message: 'x' }),
      lock: () => t.f.machines.setLocked(t.bob.actor, mine.id, true),
      power: () => t.f.machines.power(t.bob.actor, mine.id, 'off'),
    }),
  )('another user cannot %s it, and nothing changes', async (_, attempt) => {
    const before = await snapshotStore(t.f.store);
    expect(['forbidden', 'not-found']).toContain(errorOf(await attempt()).kind);
    expect(await snapshotStore(t.f.store)).toEqual(before);
  });

  it('a user cannot act on an unowned machine they can see', async () => {
    const unowned = await t.f.createMachine();
    expect(
      errorOf(await t.f.machines.act(t.bob.actor, unowned.id, 'mark_broken', { message: 'x' }))
        .kind,
    ).toBe('forbidden');
  });

  it('only admins commission or mark fixed', async () => {
    expect(
      errorOf(await t.f.machines.act(t.alice.actor, mine.id, 'commission', { message: 'x' })).kind,
    ).toBe('forbidden');
    expect(
      errorOf(await t.f.machines.act(t.alice.actor, mine.id, 'mark_fixed', { message: 'x' })).kind,
    ).toBe('forbidden');
  });

  it('an admin acts on anyone’s machine', async () => {
    const released = valueOf(
      await t.f.machines.act(t.f.admin.actor, mine.id, 'release', { message: 'reclaimed' }),
    );
    expect(released).toMatchObject({ status: 'ready', ownerId: null, statusMessage: 'reclaimed' });
  });
});

describe('update and delete', () => {
  it('changes the given fields and names only those in the audit event', async () => {
    const m = await t.f.createMachine({ tags: ['a'] });
    const mac = uniqueMac();
    const updated = valueOf(
      await t.f.machines.update(t.f.admin.actor, m.id, {
        tags: ['b', 'c'],
        macs: [mac],
        zone: undefined,
        hostname: undefined,
      }),
    );
    expect(updated).toMatchObject({
      tags: ['b', 'c'],
      macs: [mac],
      zone: m.zone,
      version: m.version + 1,
    });
    const [audit] = (await t.f.store.listEvents({ machineId: m.id })).filter(
      (e) => e.step === 'update',
    );
    expect(audit?.message).toBe('Updated macs, tags');
  });

  it.each(
    Object.entries({
      'a non-admin': async (m: Machine) => t.f.machines.update(t.alice.actor, m.id, { zone: 'z' }),
      'a taken hostname': async (m: Machine) =>
        t.f.machines.update(t.f.admin.actor, m.id, {
          hostname: (await t.f.createMachine()).hostname,
        }),
      'a taken MAC': async (m: Machine) =>
        t.f.machines.update(t.f.admin.actor, m.id, { macs: (await t.f.createMachine()).macs }),
      'an unknown machine': async () => t.f.machines.update(t.f.admin.actor, 'nope', { zone: 'z' }),
    }),
  )('refuses an update by %s', async (_, attempt) => {
    const m = await t.f.createMachine();
    const result = await attempt(m);
    expect(['forbidden', 'conflict', 'not-found']).toContain(errorOf(result).kind);
    expect(await t.f.store.getMachine(m.id)).toEqual(m);
  });

  it('keeps every concurrent update (compare-and-set retries)', async () => {
    const m = await t.f.createMachine();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.f.machines.update(t.f.admin.actor, m.id, { cpuCount: i }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await t.f.store.getMachine(m.id))?.version).toBe(m.version + 10);
  });

  it('deletes an idle machine, not a busy one', async () => {
    await t.f.enrollRack();
    const idle = await t.f.createMachine();
    valueOf(await t.f.machines.delete(t.f.admin.actor, idle.id));
    expect(await t.f.store.getMachine(idle.id)).toBeUndefined();
    expect(errorOf(await t.f.machines.delete(t.f.admin.actor, idle.id)).kind).toBe('not-found');

    const busy = await t.f.allocatedMachine(t.alice);
    valueOf(
      await t.f.machines.deploy(t.alice.actor, busy.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(errorOf(await t.f.machines.delete(t.f.admin.actor, busy.id)).kind).toBe('conflict');
    expect(errorOf(await t.f.machines.delete(t.alice.actor, busy.id)).kind).toBe('forbidden');
  });
});
