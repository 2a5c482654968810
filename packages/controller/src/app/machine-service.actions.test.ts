import type { Result } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import type { DomainError } from '../domain/errors.ts';
import {
  DEFAULT_IMAGE,
  EPHEMERAL_IMAGE,
  errorOf,
  rackStep,
  snapshotStore,
  valueOf,
} from '../testing/index.ts';
import { useServiceFixture } from '../testing/use-service-fixture.ts';
import { openQueuedToken } from './metadata-token.ts';

const t = useServiceFixture(['alice', 'bob']);

describe('deploy', () => {
  it('queues a boot plan and a power command for the rack, notifies it, and writes an event', async () => {
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice, {
      power: { type: 'redfish', params: { host: 'bmc' } },
    });
    t.f.bus.clear();
    const deployed = valueOf(
      await t.f.machines.deploy(t.alice.actor, m.id, {
        os: 'debian',
        release: 'bookworm',
        userData: 'x',
      }),
    );
    expect(deployed).toMatchObject({
      status: 'deploying',
      rackId: rack.id,
      bootPurpose: 'install',
      statusDeadlineMs: t.f.clock.now() + t.f.timeouts.deployingMs,
      deployment: {
        os: 'debian',
        release: 'bookworm',
        kernel: null,
        userData: 'x',
        ephemeral: false,
      },
      ownerId: t.alice.user.id,
    });
    const pending = await t.f.store.pendingRackCommands(rack.id);
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
        // The installer's environment, plus the image it writes (as the root image).
        files: [
          ...EPHEMERAL_IMAGE.files,
          ...DEFAULT_IMAGE.files
            .filter((f) => f.role === 'squashfs')
            .map((f) => ({ ...f, role: 'root-image' })),
        ],
        kernelParams: '',
        // A fresh metadata token for the installer and cloud-init (deploy-contract.md), sealed
        // at rest; opened by rpc/convert.ts when sent.
        metadataToken: expect.stringMatching(/^v1:/) as unknown,
      },
      {
        kind: 'power',
        machineId: m.id,
        action: 'on',
        driver: 'redfish',
        params: { sealed: expect.stringMatching(/^v1:/) as unknown }, // opened by rpc/convert.ts
        pxeOnce: true,
      },
    ]);
    const plan = pending[0]?.body;
    const token = plan?.kind === 'boot-plan' ? (plan.metadataToken ?? '') : '';
    expect(openQueuedToken(t.f.secrets, token)).toMatch(/^[A-Za-z0-9]{24}(:[A-Za-z0-9]{24}){2}$/);
    expect(t.f.notifier.calls).toEqual([rack.id]);
    expect(t.f.bus.published).toMatchObject([
      {
        kind: 'transition',
        machineId: m.id,
        step: 'deploy',
        fromStatus: 'allocated',
        toStatus: 'deploying',
        actor: 'user:alice',
      },
    ]);
    expect(await t.f.store.listEvents({ machineId: m.id })).toContainEqual(t.f.bus.published[0]);
  });

  it('refuses when no rack serves the machine, and changes nothing', async () => {
    const m = await t.f.allocatedMachine(t.alice);
    const before = await snapshotStore(t.f.store);
    const e = errorOf(
      await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(e.kind).toBe('no-rack');
    expect(await snapshotStore(t.f.store)).toEqual(before);
    expect(t.f.notifier.calls).toEqual([]);
  });

  it('refuses a machine that is not allocated, naming the allowed actions', async () => {
    await t.f.enrollRack();
    const m = await t.f.createMachine();
    const e = errorOf(
      await t.f.machines.deploy(t.f.admin.actor, m.id, { os: 'debian', release: 'bookworm' }),
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

describe('locking', () => {
  it('a locked machine refuses deploy, release and mark broken, and changes nothing', async () => {
    await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.setLocked(t.alice.actor, m.id, true));
    const before = await snapshotStore(t.f.store);
    const attempts: (() => Promise<Result<unknown, DomainError>>)[] = [
      () => t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
      () => t.f.machines.act(t.alice.actor, m.id, 'release', { message: 'x' }),
      () => t.f.machines.act(t.f.admin.actor, m.id, 'mark_broken', { message: 'x' }),
      () => t.f.machines.power(t.alice.actor, m.id, 'cycle'),
      () => t.f.machines.update(t.f.admin.actor, m.id, { tags: ['x'] }),
      () => t.f.machines.delete(t.f.admin.actor, m.id),
    ];
    for (const attempt of attempts) {
      expect(errorOf(await attempt()).kind).toBe('locked');
    }
    expect(await snapshotStore(t.f.store)).toEqual(before);
    expect(errorOf(await t.f.machines.setLocked(t.alice.actor, m.id, true)).kind).toBe('conflict');

    valueOf(await t.f.machines.setLocked(t.alice.actor, m.id, false));
    const deployed = valueOf(
      await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(deployed.status).toBe('deploying');
  });

  it('writes an audit event for lock and unlock', async () => {
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.setLocked(t.alice.actor, m.id, true));
    valueOf(await t.f.machines.setLocked(t.alice.actor, m.id, false));
    const audits = (await t.f.store.listEvents({ machineId: m.id })).filter(
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
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }));
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    await t.f.racks.ackCommands(
      rack.id,
      (await t.f.store.pendingRackCommands(rack.id)).map((c) => c.id),
    );

    const releasing = valueOf(
      await t.f.machines.act(t.alice.actor, m.id, 'release', { message: 'Released' }),
    );
    expect(releasing).toMatchObject({
      status: 'releasing',
      ownerId: t.alice.user.id,
      bootPurpose: 'local',
    });
    expect((await t.f.store.pendingRackCommands(rack.id)).map((c) => c.body)).toMatchObject([
      { kind: 'boot-plan', purpose: 'local' },
      { kind: 'power', action: 'off' },
    ]);

    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'power.off')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({
      status: 'ready',
      ownerId: null,
      deployment: null,
      statusDeadlineMs: null,
    });
  });
});

describe('power', () => {
  it('queues a power command for the rack and notifies it', async () => {
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.power(t.alice.actor, m.id, 'cycle'));
    expect((await t.f.store.pendingRackCommands(rack.id)).map((c) => c.body)).toMatchObject([
      { kind: 'power', machineId: m.id, action: 'cycle', pxeOnce: false, driver: 'manual' },
    ]);
    expect(t.f.notifier.calls).toEqual([rack.id]);
    expect((await t.f.store.getMachine(m.id))?.version).toBe(m.version);
  });
});
