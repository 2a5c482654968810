import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Rack } from '../domain/rack.ts';
import {
  createServiceFixture,
  rackStep,
  snapshotStore,
  uniqueMac,
  type ServiceFixture,
} from '../testing/index.ts';
import { ENLIST_STEP } from './enlistment.ts';

let f: ServiceFixture;
let rack: Rack;

beforeEach(async () => {
  f = await createServiceFixture();
  ({ rack } = await f.enrollRack());
  f.bus.clear();
  f.notifier.clear();
});

afterEach(async () => {
  await f.close();
});

/** An `enlist` report from the rack about an unknown MAC (no machine id). */
function enlistReport(mac: string, arch?: unknown) {
  return rackStep('', ENLIST_STEP, 'succeeded', {
    mac,
    message: 'unknown MAC asked to network-boot',
    data: arch === undefined ? {} : { arch },
  });
}

async function machinesWithMac(mac: string) {
  return (await f.store.listMachines({})).filter((m) => m.macs.includes(mac));
}

describe('enlistment by network boot', () => {
  it('creates a `new` machine with the announced arch, its transition stored before the report', async () => {
    const mac = uniqueMac();
    const report = enlistReport(mac, 'arm64');
    await f.racks.recordEvents(rack.id, [report]);

    const [machine, ...others] = await machinesWithMac(mac);
    expect(others).toEqual([]);
    expect(machine).toMatchObject({
      status: 'new',
      arch: 'arm64',
      macs: [mac],
      rackId: rack.id,
      ownerId: null,
      hostname: `machine-${machine?.id}`,
      createdAtMs: f.clock.now(),
      lastStep: { step: ENLIST_STEP, result: 'succeeded' },
    });

    const events = await f.store.listEvents({ machineId: machine?.id });
    expect(events).toMatchObject([
      {
        kind: 'transition',
        step: ENLIST_STEP,
        fromStatus: null,
        toStatus: 'new',
        rackId: rack.id,
        actor: `rack:${rack.id}`,
        data: { mac, arch: 'arm64' },
      },
      { id: report.id, kind: 'step', step: ENLIST_STEP, data: { mac, arch: 'arm64' } },
    ]);
    const [transition, step] = events;
    expect(transition?.seq).toBeLessThan(step?.seq ?? -Infinity);
    // Published in store order too.
    expect(f.bus.published.map((e) => e.kind)).toEqual(['transition', 'step']);
    expect(f.bus.published.map((e) => e.machineId)).toEqual([machine?.id, machine?.id]);
  });

  it('enlists once when the report is re-delivered, alone or within one batch', async () => {
    const mac = uniqueMac();
    const report = enlistReport(mac, 'amd64');
    await f.racks.recordEvents(rack.id, [report, report]);
    const once = await snapshotStore(f.store);
    expect(await machinesWithMac(mac)).toHaveLength(1);
    f.bus.clear();

    await f.racks.recordEvents(rack.id, [report]);
    await f.racks.recordEvents(rack.id, [report, report]);

    expect(await snapshotStore(f.store)).toEqual(once);
    expect(f.bus.published).toEqual([]);
  });

  it('links a later enlist report of the same MAC to the machine without a new transition', async () => {
    const mac = uniqueMac();
    await f.racks.recordEvents(rack.id, [enlistReport(mac, 'amd64')]);
    const [machine] = await machinesWithMac(mac);
    f.clock.advance(60_000);
    const again = enlistReport(mac.toUpperCase().replace(/:/g, '-'), 'arm64');
    await f.racks.recordEvents(rack.id, [again]);

    const after = await machinesWithMac(mac);
    expect(after.map((m) => m.id)).toEqual([machine?.id]);
    expect(after[0]).toMatchObject({ arch: 'amd64', status: 'new', macs: [mac] });
    const events = await f.store.listEvents({ machineId: machine?.id });
    expect(events.map((e) => e.kind)).toEqual(['transition', 'step', 'step']);
    expect(events.at(-1)?.id).toBe(again.id);
  });

  it('does not enlist a MAC that belongs to a known machine', async () => {
    const known = await f.createMachine({ hostname: 'known-1' });
    const mac = known.macs[0] ?? '';
    const before = (await f.store.listMachines({})).length;
    const report = enlistReport(mac, 'arm64');
    await f.racks.recordEvents(rack.id, [report]);

    expect(await f.store.listMachines({})).toHaveLength(before);
    const after = await f.store.getMachine(known.id);
    expect(after).toMatchObject({ status: 'ready', arch: 'amd64', hostname: 'known-1' });
    const events = await f.store.listEvents({ machineId: known.id });
    expect(events.filter((e) => e.kind === 'transition' && e.step === ENLIST_STEP)).toEqual([]);
    expect(events.at(-1)).toMatchObject({ id: report.id, kind: 'step', machineId: known.id });
  });

  it.each([
    ['an unknown arch', 'sparc'],
    ['no arch', undefined],
    ['a number', 7],
    ['an empty string', ''],
    ['an arch in capitals', 'ARM64'],
  ])('enlists with %s as amd64', async (_, arch) => {
    const mac = uniqueMac();
    await f.racks.recordEvents(rack.id, [enlistReport(mac, arch)]);
    const [machine] = await machinesWithMac(mac);
    expect(machine).toMatchObject({ status: 'new', arch: 'amd64' });
    const [transition] = await f.store.listEvents({ machineId: machine?.id });
    expect(transition).toMatchObject({ kind: 'transition', data: { arch: 'amd64' } });
  });

  it.each(['riscv64', 'ppc64el', 's390x', 'i386'])('keeps a known arch, %s', async (arch) => {
    const mac = uniqueMac();
    await f.racks.recordEvents(rack.id, [enlistReport(mac, arch)]);
    expect(await machinesWithMac(mac)).toMatchObject([{ arch }]);
  });

  it.each([
    [
      'a non-enlist step from an unknown MAC',
      rackStep('', 'dhcp.discover', 'succeeded', { mac: uniqueMac() }),
    ],
    [
      'a failed boot of an unknown MAC',
      rackStep('', 'boot.kernel', 'failed', { mac: uniqueMac() }),
    ],
    ['an enlist report with a bad MAC', enlistReport('not-a-mac', 'arm64')],
    ['an enlist report without a MAC', enlistReport('', 'arm64')],
  ])('creates no machine for %s, yet stores the report', async (_, report) => {
    const before = await f.store.listMachines({});
    await f.racks.recordEvents(rack.id, [report]);
    expect(await f.store.listMachines({})).toEqual(before);
    const stored = (await f.store.listEvents({ limit: 1_000 })).filter((e) => e.id === report.id);
    expect(stored).toMatchObject([{ kind: 'step', machineId: null, rackId: rack.id }]);
    expect(f.bus.published.map((e) => e.id)).toEqual([report.id]);
  });

  it('enlists several unknown MACs of one batch, each once', async () => {
    const macs = [uniqueMac(), uniqueMac(), uniqueMac()];
    await f.racks.recordEvents(rack.id, [
      ...macs.map((m) => enlistReport(m, 'amd64')),
      rackStep('', 'dhcp.offer', 'succeeded', { mac: macs[0] }),
    ]);
    for (const mac of macs) expect(await machinesWithMac(mac)).toHaveLength(1);
    const [first] = await machinesWithMac(macs[0] ?? '');
    const events = await f.store.listEvents({ machineId: first?.id });
    expect(events.map((e) => `${e.kind}:${e.step}`)).toEqual([
      'transition:enlist',
      'step:enlist',
      'step:dhcp.offer',
    ]);
  });
});

describe('known gaps', () => {
  // BUG (not fixed here): enlistment is deduplicated by MAC, not by report id. A report the
  // rack re-delivers after the admin deleted the machine it created enlists the MAC again, with
  // a transition whose cause is not stored again. Fixing it needs a way to ask the store whether
  // an event id is stored (a new Store method) before enlisting. Drop `.fails` once fixed.
  it('does not re-enlist a deleted machine when its old report is re-delivered', async () => {
    const mac = uniqueMac();
    const report = enlistReport(mac, 'amd64');
    await f.racks.recordEvents(rack.id, [report]);
    const [machine] = await machinesWithMac(mac);
    expect((await f.machines.delete(f.admin.actor, machine?.id ?? '')).ok).toBe(true);
    await f.racks.recordEvents(rack.id, [report]);
    expect(await machinesWithMac(mac)).toEqual([]);
  });
});
