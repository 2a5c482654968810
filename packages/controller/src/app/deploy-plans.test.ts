/**
 * Which boot plans a deployment pushes, in order: disk deploys (install → local after the
 * installer reboots), deploys in memory (ephemeral, kept once deployed) and releases with a
 * disk erase (erase → local once the eraser reports).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, EPHEMERAL_IMAGE, errorOf, rackStep, valueOf } from '../testing/index.ts';
import { useServiceFixture } from '../testing/use-service-fixture.ts';

const t = useServiceFixture(['alice']);

/** The rack's pending command bodies, then acknowledges them all. */
async function drain(rackId: string): Promise<Record<string, unknown>[]> {
  const pending = await t.f.store.pendingRackCommands(rackId);
  await t.f.racks.ackCommands(
    rackId,
    pending.map((c) => c.id),
  );
  return pending.map((c) => ({ ...c.body }));
}

describe('a deploy to disk', () => {
  it('boots the installer, switches to the local disk when the installer reboots, once', async () => {
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }));
    expect(await drain(rack.id)).toMatchObject([
      { kind: 'boot-plan', purpose: 'install' },
      { kind: 'power', action: 'on', pxeOnce: true },
    ]);

    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'install.image')]);
    expect(await drain(rack.id)).toEqual([]);
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'install.reboot')]);
    const installed = await t.f.store.getMachine(m.id);
    expect(installed).toMatchObject({ status: 'deploying', bootPurpose: 'local' });
    // The deadline set when the deploy started still holds.
    expect(installed?.statusDeadlineMs).toBe(t.f.clock.now() + t.f.timeouts.deployingMs);
    expect(await drain(rack.id)).toMatchObject([
      { kind: 'boot-plan', purpose: 'local', files: [] },
    ]);
    // A repeated report changes nothing.
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'install.reboot')]);
    expect(await drain(rack.id)).toEqual([]);

    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({ status: 'deployed' });
  });

  it('needs the ephemeral environment: without it a deploy is refused and nothing changes', async () => {
    await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    const env = (await t.f.images.list()).find((i) => i.os === EPHEMERAL_IMAGE.os);
    if (env === undefined) throw new Error('the fixture registers the ephemeral environment');
    valueOf(await t.f.images.delete(t.f.admin.actor, env.id));
    const e = errorOf(
      await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }),
    );
    expect(e).toMatchObject({ kind: 'invalid', field: 'image' });
    expect(e.kind === 'invalid' ? e.detail : '').toContain('ingot images import');
    expect(await t.f.store.getMachine(m.id)).toMatchObject({ status: 'allocated' });
    // A deploy in memory does not need it.
    valueOf(
      await t.f.machines.deploy(t.alice.actor, m.id, {
        os: 'debian',
        release: 'bookworm',
        ephemeral: true,
      }),
    );
  });
});

describe('a deploy in memory', () => {
  it("boots the image's own files and keeps that plan once deployed", async () => {
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    const deploying = valueOf(
      await t.f.machines.deploy(t.alice.actor, m.id, {
        os: 'debian',
        release: 'bookworm',
        ephemeral: true,
      }),
    );
    expect(deploying).toMatchObject({ bootPurpose: 'ephemeral' });
    expect(await drain(rack.id)).toMatchObject([
      { kind: 'boot-plan', purpose: 'ephemeral', files: DEFAULT_IMAGE.files },
      { kind: 'power', action: 'on' },
    ]);
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({
      status: 'deployed',
      bootPurpose: 'ephemeral',
      deployment: { ephemeral: true },
    });
    expect(await drain(rack.id)).toEqual([]);
  });
});

describe('a release with erase', () => {
  it('boots the eraser, ignores the power-off, and ends ready on the erase report', async () => {
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }));
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    await drain(rack.id);

    const releasing = valueOf(await t.f.machines.release(t.alice.actor, m.id, { erase: 'full' }));
    expect(releasing).toMatchObject({
      status: 'releasing',
      bootPurpose: 'erase',
      deployment: { erase: 'full' },
    });
    expect(await drain(rack.id)).toMatchObject([
      { kind: 'boot-plan', purpose: 'erase', files: EPHEMERAL_IMAGE.files },
      { kind: 'power', action: 'cycle', pxeOnce: true },
    ]);
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'power.off')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({ status: 'releasing' });

    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'erase')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({
      status: 'ready',
      ownerId: null,
      deployment: null,
      bootPurpose: 'local',
    });
    expect(await drain(rack.id)).toMatchObject([{ kind: 'boot-plan', purpose: 'local' }]);
  });

  it('a failed erase ends in failed_releasing, from where a plain release still works', async () => {
    const { rack } = await t.f.enrollRack();
    const m = await t.f.allocatedMachine(t.alice);
    valueOf(await t.f.machines.deploy(t.alice.actor, m.id, { os: 'debian', release: 'bookworm' }));
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    valueOf(await t.f.machines.release(t.alice.actor, m.id, { erase: 'quick' }));
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'erase', 'failed')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({ status: 'failed_releasing' });
    valueOf(await t.f.machines.release(t.alice.actor, m.id, {}));
    await drain(rack.id);
    await t.f.racks.recordEvents(rack.id, [rackStep(m.id, 'power.off')]);
    expect(await t.f.store.getMachine(m.id)).toMatchObject({ status: 'ready' });
  });
});
