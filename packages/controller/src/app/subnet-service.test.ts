import type { Result } from '@ingot/common';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DomainError } from '../domain/errors.ts';
import type { RackCommand, RackCommandBody } from '../domain/rack.ts';
import { snapshotStore, uniqueMac } from '../testing/index.ts';
import { useServiceFixture } from '../testing/use-service-fixture.ts';
import type { SubnetInput } from './subnet-service.ts';

type NetworkConfig = Extract<RackCommandBody, { kind: 'network-config' }>;

const t = useServiceFixture(['alice']);

function must<T>(r: Result<T, DomainError>): T {
  if (!r.ok) throw new Error(`unexpected ${r.error.kind}: ${JSON.stringify(r.error)}`);
  return r.value;
}

const LAN: SubnetInput = {
  cidr: '172.31.0.0/24',
  gateway: '172.31.0.1',
  dynamicRanges: [{ start: '172.31.0.100', end: '172.31.0.199' }],
};

/** The store, subnets and reservations included, to check a refused change altered nothing. */
async function everything() {
  const subnets = await t.f.store.listSubnets();
  return {
    ...(await snapshotStore(t.f.store)),
    subnets,
    reservations: await t.f.store.listReservations(),
  };
}

async function pendingConfigs(rackId: string): Promise<(RackCommand & { body: NetworkConfig })[]> {
  return (await t.f.store.pendingRackCommands(rackId)).filter(
    (c): c is RackCommand & { body: NetworkConfig } => c.body.kind === 'network-config',
  );
}

async function onlyConfig(rackId: string): Promise<NetworkConfig> {
  const configs = await pendingConfigs(rackId);
  expect(configs).toHaveLength(1);
  const [config] = configs;
  if (config === undefined) throw new Error('no network config');
  return config.body;
}

describe('subnet CRUD', () => {
  it('creates a subnet with defaults, lists it, and audits the change', async () => {
    const s = must(await t.f.subnets.create(t.f.admin.actor, { cidr: '10.20.0.0/16' }));
    expect(s).toMatchObject({
      cidr: '10.20.0.0/16',
      name: '10.20.0.0/16',
      gateway: null,
      dnsServers: [],
      dynamicRanges: [],
      leaseSeconds: 3600,
      dhcpMode: 'managed',
      rackId: null,
      interface: null,
      createdAtMs: t.f.clock.now(),
    });
    expect(await t.f.subnets.list()).toEqual([s]);
    expect(must(await t.f.subnets.get(s.id))).toEqual(s);
    expect(t.f.bus.published.at(-1)).toMatchObject({
      kind: 'audit',
      step: 'subnet.create',
      actor: 'user:admin',
    });
  });

  it('updates only the fields given; null clears the gateway', async () => {
    const s = must(await t.f.subnets.create(t.f.admin.actor, { ...LAN, name: 'lan' }));
    const u = must(await t.f.subnets.update(t.f.admin.actor, s.id, { leaseSeconds: 600 }));
    expect(u).toEqual({ ...s, leaseSeconds: 600 });
    const cleared = must(await t.f.subnets.update(t.f.admin.actor, s.id, { gateway: null }));
    expect(cleared.gateway).toBeNull();
    expect(await t.f.store.getSubnet(s.id)).toEqual(cleared);
  });

  it('deletes a subnet with its reservations', async () => {
    const s = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const mac = uniqueMac();
    must(await t.f.subnets.reserve(t.f.admin.actor, s.id, { mac, ip: '172.31.0.20' }));
    must(await t.f.subnets.delete(t.f.admin.actor, s.id));
    expect(await t.f.subnets.list()).toEqual([]);
    expect(await t.f.store.getReservationByMac(mac)).toBeUndefined();
    expect(await t.f.subnets.get(s.id)).toMatchObject({ ok: false, error: { kind: 'not-found' } });
  });

  it.each([
    ['update', () => t.f.subnets.update(t.f.admin.actor, 'nope', { name: 'x' })],
    ['delete', () => t.f.subnets.delete(t.f.admin.actor, 'nope')],
    [
      'reserve',
      () => t.f.subnets.reserve(t.f.admin.actor, 'nope', { mac: uniqueMac(), ip: '1.1.1.1' }),
    ],
    ['list reservations', () => t.f.subnets.reservations('nope')],
  ])('%s of an unknown subnet is not-found', async (_, run) => {
    expect(await run()).toMatchObject({ ok: false, error: { kind: 'not-found' } });
  });
});

describe('validation', () => {
  const cases: Record<string, [Partial<SubnetInput>, string]> = {
    'a CIDR with host bits': [{ cidr: '172.31.0.1/24' }, 'cidr'],
    'a gateway outside': [{ gateway: '10.0.0.1' }, 'gateway'],
    'a bad DNS server': [{ dnsServers: ['dns.example'] }, 'dns_servers'],
    'a range outside': [
      { dynamicRanges: [{ start: '172.31.0.10', end: '172.31.1.10' }] },
      'dynamic_ranges.0',
    ],
    'a range over the gateway': [
      { dynamicRanges: [{ start: '172.31.0.1', end: '172.31.0.9' }] },
      'dynamic_ranges.0',
    ],
    'overlapping ranges': [
      {
        dynamicRanges: [
          { start: '172.31.0.10', end: '172.31.0.20' },
          { start: '172.31.0.15', end: '172.31.0.30' },
        ],
      },
      'dynamic_ranges.1',
    ],
    'a short lease': [{ leaseSeconds: 10 }, 'lease_seconds'],
    'an unknown rack': [{ rackId: 'no-such-rack' }, 'rack'],
  };

  it.each(Object.entries(cases))('refuses %s on create and update', async (_, [patch, field]) => {
    await t.f.enrollRack();
    t.f.notifier.clear();
    t.f.bus.clear();
    const empty = await everything();
    const created = await t.f.subnets.create(t.f.admin.actor, { ...LAN, ...patch });
    expect(created).toMatchObject({ ok: false, error: { kind: 'invalid', field } });
    expect(await everything()).toEqual(empty);

    const existing = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const before = await everything();
    t.f.notifier.clear();
    t.f.bus.clear();
    const updated = await t.f.subnets.update(t.f.admin.actor, existing.id, patch);
    expect(updated).toMatchObject({ ok: false, error: { kind: 'invalid', field } });
    expect(await everything()).toEqual(before);
    expect(t.f.notifier.calls).toEqual([]);
    expect(t.f.bus.published).toEqual([]);
  });

  it.each([
    ['the same CIDR', '172.31.0.0/24'],
    ['a block inside it', '172.31.0.128/25'],
    ['a block around it', '172.30.0.0/15'],
  ])('refuses %s as an overlap conflict', async (_, cidr) => {
    must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const before = await everything();
    const r = await t.f.subnets.create(t.f.admin.actor, { cidr });
    expect(r).toMatchObject({ ok: false, error: { kind: 'conflict' } });
    if (!r.ok && r.error.kind === 'conflict') expect(r.error.detail).toContain('172.31.0.0/24');
    expect(await everything()).toEqual(before);
  });

  it('refuses an update moving a subnet onto another, but not onto itself', async () => {
    const a = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const b = must(await t.f.subnets.create(t.f.admin.actor, { cidr: '10.0.0.0/24' }));
    expect(
      await t.f.subnets.update(t.f.admin.actor, b.id, { cidr: '172.31.0.0/23' }),
    ).toMatchObject({
      ok: false,
      error: { kind: 'conflict' },
    });
    must(await t.f.subnets.update(t.f.admin.actor, a.id, { cidr: '172.31.0.0/24', name: 'same' }));
  });
});

describe('authorization', () => {
  it('lets a user read but not change anything', async () => {
    const s = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const mac = uniqueMac();
    must(await t.f.subnets.reserve(t.f.admin.actor, s.id, { mac, ip: '172.31.0.20' }));
    const before = await everything();
    const attempts = [
      await t.f.subnets.create(t.alice.actor, { cidr: '10.9.0.0/24' }),
      await t.f.subnets.update(t.alice.actor, s.id, { name: 'mine' }),
      await t.f.subnets.delete(t.alice.actor, s.id),
      await t.f.subnets.reserve(t.alice.actor, s.id, { mac: uniqueMac(), ip: '172.31.0.21' }),
      await t.f.subnets.unreserve(t.alice.actor, s.id, mac),
    ];
    for (const r of attempts) expect(r).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    expect(await everything()).toEqual(before);
    expect(await t.f.subnets.list()).toHaveLength(1);
    expect(must(await t.f.subnets.reservations(s.id))).toHaveLength(1);
  });
});

describe('reservations', () => {
  let subnetId: string;

  beforeEach(async () => {
    subnetId = must(await t.f.subnets.create(t.f.admin.actor, LAN)).id;
  });

  it('reserves with a normalized MAC, lists and removes it', async () => {
    const r = must(
      await t.f.subnets.reserve(t.f.admin.actor, subnetId, {
        mac: 'AA-BB-CC-00-11-22',
        ip: '172.31.0.20',
        hostname: 'printer',
      }),
    );
    expect(r).toMatchObject({ mac: 'aa:bb:cc:00:11:22', hostname: 'printer', subnetId });
    expect(must(await t.f.subnets.reservations(subnetId))).toEqual([r]);
    expect(
      await t.f.subnets.unreserve(t.f.admin.actor, 'other-subnet', 'aa:bb:cc:00:11:22'),
    ).toMatchObject({ ok: false, error: { kind: 'not-found' } });
    must(await t.f.subnets.unreserve(t.f.admin.actor, subnetId, 'AABBCC001122'));
    expect(must(await t.f.subnets.reservations(subnetId))).toEqual([]);
  });

  it.each<[string, { mac?: string; ip: string }, DomainError['kind'], string | undefined]>([
    ['a bad MAC', { mac: 'not-a-mac', ip: '172.31.0.20' }, 'invalid', 'mac'],
    ['an address in a dynamic range', { ip: '172.31.0.150' }, 'invalid', 'ip'],
    ['the first address of a range', { ip: '172.31.0.100' }, 'invalid', 'ip'],
    ['the gateway', { ip: '172.31.0.1' }, 'invalid', 'ip'],
    ['the broadcast address', { ip: '172.31.0.255' }, 'invalid', 'ip'],
    ['an address of another network', { ip: '10.0.0.5' }, 'invalid', 'ip'],
    ['a MAC already reserved', { mac: 'taken', ip: '172.31.0.30' }, 'conflict', undefined],
    ['an address already reserved', { ip: '172.31.0.20' }, 'conflict', undefined],
  ])('refuses %s', async (_, input, kind, field) => {
    const taken = uniqueMac();
    must(await t.f.subnets.reserve(t.f.admin.actor, subnetId, { mac: taken, ip: '172.31.0.20' }));
    const before = await everything();
    const mac = input.mac === 'taken' ? taken.toUpperCase() : (input.mac ?? uniqueMac());
    const r = await t.f.subnets.reserve(t.f.admin.actor, subnetId, { ...input, mac, ip: input.ip });
    expect(r).toMatchObject({ ok: false, error: field === undefined ? { kind } : { kind, field } });
    expect(await everything()).toEqual(before);
  });

  it.each([
    [
      'a range that would cover it',
      { dynamicRanges: [{ start: '172.31.0.10', end: '172.31.0.99' }] },
    ],
    ['a CIDR that would exclude it', { cidr: '172.31.0.128/25', gateway: null, dynamicRanges: [] }],
    ['a gateway on it', { gateway: '172.31.0.20' }],
  ])('refuses an update with %s', async (_, patch) => {
    must(
      await t.f.subnets.reserve(t.f.admin.actor, subnetId, { mac: uniqueMac(), ip: '172.31.0.20' }),
    );
    const before = await everything();
    expect(await t.f.subnets.update(t.f.admin.actor, subnetId, patch)).toMatchObject({
      ok: false,
      error: { kind: 'conflict' },
    });
    expect(await everything()).toEqual(before);
  });
});

describe('network config', () => {
  it('queues an unassigned subnet to the only rack, reservations linked to known machines', async () => {
    const { rack } = await t.f.enrollRack();
    const known = await t.f.createMachine({ hostname: 'db-1' });
    const knownMac = known.macs[0] ?? '';
    const stranger = uniqueMac();
    const s = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    t.f.notifier.clear();
    must(await t.f.subnets.reserve(t.f.admin.actor, s.id, { mac: knownMac, ip: '172.31.0.10' }));
    must(
      await t.f.subnets.reserve(t.f.admin.actor, s.id, {
        mac: stranger,
        ip: '172.31.0.11',
        hostname: 'printer',
      }),
    );
    const config = await onlyConfig(rack.id);
    expect(config.subnets).toEqual([s]);
    expect(config.reservations).toMatchObject([
      { mac: knownMac, ip: '172.31.0.10', machineId: known.id, hostname: 'db-1' },
      { mac: stranger, ip: '172.31.0.11', machineId: null, hostname: 'printer' },
    ]);
    expect(t.f.notifier.calls).toEqual([rack.id, rack.id]);
    expect((await t.f.store.getRack(rack.id))?.networkConfigVersion).toBe(config.version);
  });

  it('with two racks, only the assigned rack serves a subnet', async () => {
    const { rack: a } = await t.f.enrollRack('rack-a');
    const { rack: b } = await t.f.enrollRack('rack-b');
    const unassigned = must(await t.f.subnets.create(t.f.admin.actor, { cidr: '10.0.0.0/24' }));
    expect((await onlyConfig(a.id)).subnets).toEqual([]);
    expect((await onlyConfig(b.id)).subnets).toEqual([]);
    const assigned = must(await t.f.subnets.create(t.f.admin.actor, { ...LAN, rackId: a.id }));
    expect((await onlyConfig(a.id)).subnets).toEqual([assigned]);
    expect((await onlyConfig(b.id)).subnets).toEqual([]);
    expect(unassigned.rackId).toBeNull();
    expect(t.f.notifier.calls.slice(-2).sort()).toEqual([a.id, b.id].sort());
  });

  it('supersedes a pending config: the old one is marked acked, versions grow', async () => {
    const { rack } = await t.f.enrollRack();
    const s = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const [first] = await pendingConfigs(rack.id);
    t.f.clock.advance(1_000);
    must(await t.f.subnets.update(t.f.admin.actor, s.id, { name: 'renamed' }));
    const pending = await pendingConfigs(rack.id);
    expect(pending).toHaveLength(1);
    expect(pending[0]?.id).not.toBe(first?.id);
    expect(pending[0]?.body.subnets).toMatchObject([{ name: 'renamed' }]);
    expect(pending[0]?.body.version).toBeGreaterThan(first?.body.version ?? Infinity);
    // Already acknowledged (by nobody): acknowledging it again changes nothing.
    expect(await t.f.store.ackRackCommands(rack.id, [first?.id ?? ''], t.f.clock.now())).toBe(0);
  });

  it('versions grow when the clock stands still or goes back', async () => {
    const { rack } = await t.f.enrollRack();
    const s = must(await t.f.subnets.create(t.f.admin.actor, LAN));
    const first = (await onlyConfig(rack.id)).version;
    expect(first).toBe(t.f.clock.now());
    const versions = [first];
    must(await t.f.subnets.update(t.f.admin.actor, s.id, { name: 'same-ms' }));
    versions.push((await onlyConfig(rack.id)).version);
    t.f.clock.advance(-3_600_000);
    must(await t.f.subnets.update(t.f.admin.actor, s.id, { name: 'earlier' }));
    versions.push((await onlyConfig(rack.id)).version);
    must(await t.f.subnets.delete(t.f.admin.actor, s.id));
    versions.push((await onlyConfig(rack.id)).version);
    expect(versions).toEqual([first, first + 1, first + 2, first + 3]);
    expect((await onlyConfig(rack.id)).subnets).toEqual([]);
  });

  it('queues nothing and notifies nobody on a refused change', async () => {
    await t.f.enrollRack();
    t.f.notifier.clear();
    expect((await t.f.subnets.create(t.f.admin.actor, { cidr: 'bad' })).ok).toBe(false);
    expect((await t.f.subnets.create(t.alice.actor, LAN)).ok).toBe(false);
    expect(t.f.notifier.calls).toEqual([]);
  });
});
