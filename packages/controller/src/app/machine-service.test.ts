import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainError } from '../domain/errors.ts';
import type { Machine } from '../domain/machine/machine.ts';
import {
  createServiceFixture,
  DEFAULT_IMAGE,
  rackStep,
  snapshotStore,
  uniqueMac,
  type FixtureUser,
  type ServiceFixture,
} from '../testing/index.ts';
import type { Result } from '@ingot/common';

let f: ServiceFixture;
let alice: FixtureUser;
let bob: FixtureUser;

beforeEach(async () => {
  f = await createServiceFixture();
  alice = await f.addUser('alice');
  bob = await f.addUser('bob');
});

afterEach(async () => {
  await f.close();
});

function errorOf<T>(result: Result<T, DomainError>): DomainError {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

function valueOf<T>(result: Result<T, DomainError>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.value;
}

describe('create', () => {
  it('creates a ready machine when the operator supplies the facts, and writes an event', async () => {
    f.bus.clear();
    const mac = uniqueMac();
    const m = valueOf(
      await f.machines.create(f.admin.actor, {
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
    const events = await f.store.listEvents({ machineId: m.id });
    expect(events).toMatchObject([
      {
        kind: 'transition',
        step: 'create',
        fromStatus: null,
        toStatus: 'ready',
        actor: 'user:admin',
      },
    ]);
    expect(f.bus.published).toEqual(events);
  });

  it('enlists as new when it is to be commissioned but has no power settings', async () => {
    const m = valueOf(
      await f.machines.create(f.admin.actor, {
        arch: 'amd64',
        macs: [uniqueMac()],
        commission: true,
      }),
    );
    expect(m.status).toBe('new');
    expect(m.hostname).toBe(`machine-${m.id}`);
  });

  it('starts commissioning at once when it has power settings and a rack serves it', async () => {
    const { rack } = await f.enrollRack();
    const m = valueOf(
      await f.machines.create(f.admin.actor, {
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
    const pending = await f.store.pendingRackCommands(rack.id);
    expect(pending.map((c) => c.body)).toMatchObject([
      { kind: 'boot-plan', purpose: 'commission' },
      {
        kind: 'power',
        action: 'on',
        pxeOnce: true,
        driver: 'ipmi',
        params: { address: '10.0.0.9' },
      },
    ]);
  });

  it.each(
    Object.entries({
      'a non-admin': () =>
        Promise.resolve({
          actor: alice.actor,
          input: { arch: 'amd64' as const, macs: [uniqueMac()], commission: false },
          kind: 'forbidden',
        }),
      'a MAC another machine has': async () => {
        const other = await f.createMachine();
        return {
          actor: f.admin.actor,
          input: { arch: 'amd64' as const, macs: [uniqueMac(), ...other.macs], commission: false },
          kind: 'conflict',
        };
      },
      'a hostname another machine has': async () => {
        const other = await f.createMachine();
        return {
          actor: f.admin.actor,
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
          actor: f.admin.actor,
          input: { arch: 'amd64' as const, macs: [uniqueMac()], rackId: 'nope', commission: false },
          kind: 'invalid',
        }),
    }),
  )('refuses %s and changes nothing', async (_, setup) => {
    const { actor, input, kind } = await setup();
    const before = await snapshotStore(f.store);
    expect(errorOf(await f.machines.create(actor, input)).kind).toBe(kind);
    expect(await snapshotStore(f.store)).toEqual(before);
  });
});

describe('allocate', () => {
  it('gives a ready machine to the user and writes an event', async () => {
    const m = await f.createMachine({ tags: ['gpu'] });
    f.bus.clear();
    const allocated = valueOf(await f.machines.allocate(alice.actor, { tags: ['gpu'] }));
    expect(allocated).toMatchObject({ id: m.id, status: 'allocated', ownerId: alice.user.id });
    expect(f.bus.published).toMatchObject([
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
    await f.createMachine({ arch: 'amd64' });
    const before = await snapshotStore(f.store);
    expect(errorOf(await f.machines.allocate(alice.actor, { arch: 'arm64' })).kind).toBe(
      'no-match',
    );
    expect(await snapshotStore(f.store)).toEqual(before);
  });

  it('never gives one machine to two concurrent callers', async () => {
    for (let i = 0; i < 25; i++) await f.createMachine();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        f.machines.allocate(i % 2 === 0 ? alice.actor : bob.actor, {}),
      ),
    );
    const won = results.flatMap((r) => (r.ok ? [r.value] : []));
    expect(won).toHaveLength(25);
    expect(new Set(won.map((m) => m.id)).size).toBe(25);
    expect(results.filter((r) => !r.ok && r.error.kind === 'no-match')).toHaveLength(35);
    const allocations = (await f.store.listEvents({})).filter((e) => e.step === 'allocate');
    expect(allocations).toHaveLength(25);
  });
});

describe('deploy', () => {
  it('queues a boot plan and a power command for the rack, notifies it, and writes an event', async () => {
    const { rack } = await f.enrollRack();
    const m = await f.allocatedMachine(alice, {
      power: { type: 'redfish', params: { host: 'bmc' } },
    });
    f.bus.clear();
    const deployed = valueOf(
      await f.machines.deploy(alice.actor, m.id, {
        os: 'debian',
        release: 'bookworm',
        userData: 'x',
      }),
    );
    expect(deployed).toMatchObject({
      status: 'deploying',
      rackId: rack.id,
      bootPurpose: 'install',
      statusDeadlineMs: f.clock.now() + f.timeouts.deployingMs,
      deployment: {
        os: 'debian',
        release: 'bookworm',
        kernel: null,
        userData: 'x',
        ephemeral: false,
      },
      ownerId: alice.user.id,
    });
    const pending = await f.store.pendingRackCommands(rack.id);
    expect(pending.map((c) => c.body)).toEqual([
      {
        kind: 'boot-plan',
        machineId: m.id,
        macs: m.macs,
        purpose: 'install',
        os: 'debian',
        release: 'bookworm',
        arch: 'amd64',
        hostname: m.hostname,
        version: m.version + 1,
        files: DEFAULT_IMAGE.files,
        kernelParams: '',
      },
      {
        kind: 'power',
        machineId: m.id,
        action: 'on',
        driver: 'redfish',
        params: { host: 'bmc' },
        pxeOnce: true,
      },
    ]);
    expect(f.notifier.calls).toEqual([rack.id]);
    expect(f.bus.published).toMatchObject([
      {
        kind: 'transition',
        machineId: m.id,
        step: 'deploy',
        fromStatus: 'allocated',
        toStatus: 'deploying',
        actor: 'user:alice',
      },
    ]);
    expect(await f.store.listEvents({ machineId: m.id })).toContainEqual(f.bus.published[0]);
  });

  it('refuses when no rack serves the machine, and changes nothing', async () => {
    const m = await f.allocatedMachine(alice);
    const before = await snapshotStore(f.store);
    const e = errorOf(
      await f.machines.deploy(alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(e.kind).toBe('no-rack');
    expect(await snapshotStore(f.store)).toEqual(before);
    expect(f.notifier.calls).toEqual([]);
  });

  it('refuses a machine that is not allocated, naming the allowed actions', async () => {
    await f.enrollRack();
    const m = await f.createMachine();
    const e = errorOf(
      await f.machines.deploy(f.admin.actor, m.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(e).toEqual({
      kind: 'invalid-transition',
      machineId: m.id,
      status: 'ready',
      action: 'deploy',
      allowed: ['commission', 'allocate', 'mark_broken'],
    });
  });
});

describe('ownership', () => {
  let mine: Machine;

  beforeEach(async () => {
    await f.enrollRack();
    mine = await f.allocatedMachine(alice);
  });

  it('hides machines owned by others, and shows unowned ones', async () => {
    const unowned = await f.createMachine();
    const bobs = await f.allocatedMachine(bob);
    const ids = (await f.machines.list(alice.actor)).map((m) => m.id).sort();
    expect(ids).toEqual([mine.id, unowned.id].sort());
    expect(errorOf(await f.machines.get(alice.actor, bobs.id))).toEqual({
      kind: 'not-found',
      entity: 'machine',
      id: bobs.id,
    });
    expect((await f.machines.list(f.admin.actor)).map((m) => m.id).sort()).toEqual(
      [mine.id, unowned.id, bobs.id].sort(),
    );
  });

  it.each(
    Object.entries({
      deploy: () => f.machines.deploy(bob.actor, mine.id, { os: 'debian', release: 'bookworm' }),
      release: () => f.machines.act(bob.actor, mine.id, 'release', { message: 'mine now' }),
      abort: () => f.machines.act(bob.actor, mine.id, 'abort', { message: 'x' }),
      'mark broken': () => f.machines.act(bob.actor, mine.id, 'mark_broken', { message: 'x' }),
      lock: () => f.machines.setLocked(bob.actor, mine.id, true),
      power: () => f.machines.power(bob.actor, mine.id, 'off'),
    }),
  )('another user cannot %s it, and nothing changes', async (_, attempt) => {
    const before = await snapshotStore(f.store);
    expect(['forbidden', 'not-found']).toContain(errorOf(await attempt()).kind);
    expect(await snapshotStore(f.store)).toEqual(before);
  });

  it('a user cannot act on an unowned machine they can see', async () => {
    const unowned = await f.createMachine();
    expect(
      errorOf(await f.machines.act(bob.actor, unowned.id, 'mark_broken', { message: 'x' })).kind,
    ).toBe('forbidden');
  });

  it('only admins commission or mark fixed', async () => {
    expect(
      errorOf(await f.machines.act(alice.actor, mine.id, 'commission', { message: 'x' })).kind,
    ).toBe('forbidden');
    expect(
      errorOf(await f.machines.act(alice.actor, mine.id, 'mark_fixed', { message: 'x' })).kind,
    ).toBe('forbidden');
  });

  it('an admin acts on anyone’s machine', async () => {
    const released = valueOf(
      await f.machines.act(f.admin.actor, mine.id, 'release', { message: 'reclaimed' }),
    );
    expect(released).toMatchObject({ status: 'ready', ownerId: null, statusMessage: 'reclaimed' });
  });
});

describe('locking', () => {
  it('a locked machine refuses deploy, release and mark broken, and changes nothing', async () => {
    await f.enrollRack();
    const m = await f.allocatedMachine(alice);
    valueOf(await f.machines.setLocked(alice.actor, m.id, true));
    const before = await snapshotStore(f.store);
    const attempts: (() => Promise<Result<unknown, DomainError>>)[] = [
      () => f.machines.deploy(alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
      () => f.machines.act(alice.actor, m.id, 'release', { message: 'x' }),
      () => f.machines.act(f.admin.actor, m.id, 'mark_broken', { message: 'x' }),
      () => f.machines.power(alice.actor, m.id, 'cycle'),
      () => f.machines.update(f.admin.actor, m.id, { tags: ['x'] }),
      () => f.machines.delete(f.admin.actor, m.id),
    ];
    for (const attempt of attempts) {
      expect(errorOf(await attempt()).kind).toBe('locked');
    }
    expect(await snapshotStore(f.store)).toEqual(before);
    expect(errorOf(await f.machines.setLocked(alice.actor, m.id, true)).kind).toBe('conflict');

    valueOf(await f.machines.setLocked(alice.actor, m.id, false));
    const deployed = valueOf(
      await f.machines.deploy(alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(deployed.status).toBe('deploying');
  });

  it('writes an audit event for lock and unlock', async () => {
    const m = await f.allocatedMachine(alice);
    valueOf(await f.machines.setLocked(alice.actor, m.id, true));
    valueOf(await f.machines.setLocked(alice.actor, m.id, false));
    const audits = (await f.store.listEvents({ machineId: m.id })).filter(
      (e) => e.kind === 'audit',
    );
    expect(audits.map((e) => [e.step, e.actor])).toEqual([
      ['lock', 'user:alice'],
      ['unlock', 'user:alice'],
    ]);
  });
});

describe('release', () => {
  it('powers a deployed machine off, then returns it to ready without owner when the rack confirms', async () => {
    const { rack } = await f.enrollRack();
    const m = await f.allocatedMachine(alice);
    valueOf(await f.machines.deploy(alice.actor, m.id, { os: 'debian', release: 'bookworm' }));
    await f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    await f.racks.ackCommands(
      rack.id,
      (await f.store.pendingRackCommands(rack.id)).map((c) => c.id),
    );

    const releasing = valueOf(
      await f.machines.act(alice.actor, m.id, 'release', { message: 'Released' }),
    );
    expect(releasing).toMatchObject({
      status: 'releasing',
      ownerId: alice.user.id,
      bootPurpose: 'local',
    });
    expect((await f.store.pendingRackCommands(rack.id)).map((c) => c.body)).toMatchObject([
      { kind: 'boot-plan', purpose: 'local' },
      { kind: 'power', action: 'off' },
    ]);

    await f.racks.recordEvents(rack.id, [rackStep(m.id, 'power.off')]);
    expect(await f.store.getMachine(m.id)).toMatchObject({
      status: 'ready',
      ownerId: null,
      deployment: null,
      statusDeadlineMs: null,
    });
  });
});

describe('update and delete', () => {
  it('changes the given fields and names only those in the audit event', async () => {
    const m = await f.createMachine({ tags: ['a'] });
    const mac = uniqueMac();
    const updated = valueOf(
      await f.machines.update(f.admin.actor, m.id, {
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
    const [audit] = (await f.store.listEvents({ machineId: m.id })).filter(
      (e) => e.step === 'update',
    );
    expect(audit?.message).toBe('Updated macs, tags');
  });

  it.each(
    Object.entries({
      'a non-admin': async (m: Machine) => f.machines.update(alice.actor, m.id, { zone: 'z' }),
      'a taken hostname': async (m: Machine) =>
        f.machines.update(f.admin.actor, m.id, { hostname: (await f.createMachine()).hostname }),
      'a taken MAC': async (m: Machine) =>
        f.machines.update(f.admin.actor, m.id, { macs: (await f.createMachine()).macs }),
      'an unknown machine': async () => f.machines.update(f.admin.actor, 'nope', { zone: 'z' }),
    }),
  )('refuses an update by %s', async (_, attempt) => {
    const m = await f.createMachine();
    const result = await attempt(m);
    expect(['forbidden', 'conflict', 'not-found']).toContain(errorOf(result).kind);
    expect(await f.store.getMachine(m.id)).toEqual(m);
  });

  it('keeps every concurrent update (compare-and-set retries)', async () => {
    const m = await f.createMachine();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => f.machines.update(f.admin.actor, m.id, { cpuCount: i })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await f.store.getMachine(m.id))?.version).toBe(m.version + 10);
  });

  it('deletes an idle machine, not a busy one', async () => {
    await f.enrollRack();
    const idle = await f.createMachine();
    valueOf(await f.machines.delete(f.admin.actor, idle.id));
    expect(await f.store.getMachine(idle.id)).toBeUndefined();
    expect(errorOf(await f.machines.delete(f.admin.actor, idle.id)).kind).toBe('not-found');

    const busy = await f.allocatedMachine(alice);
    valueOf(await f.machines.deploy(alice.actor, busy.id, { os: 'debian', release: 'bookworm' }));
    expect(errorOf(await f.machines.delete(f.admin.actor, busy.id)).kind).toBe('conflict');
    expect(errorOf(await f.machines.delete(alice.actor, busy.id)).kind).toBe('forbidden');
  });
});

describe('power', () => {
  it('queues a power command for the rack and notifies it', async () => {
    const { rack } = await f.enrollRack();
    const m = await f.allocatedMachine(alice);
    valueOf(await f.machines.power(alice.actor, m.id, 'cycle'));
    expect((await f.store.pendingRackCommands(rack.id)).map((c) => c.body)).toMatchObject([
      { kind: 'power', machineId: m.id, action: 'cycle', pxeOnce: false, driver: 'manual' },
    ]);
    expect(f.notifier.calls).toEqual([rack.id]);
    expect((await f.store.getMachine(m.id))?.version).toBe(m.version);
  });
});
