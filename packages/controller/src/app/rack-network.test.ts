import type { Result } from '@ingot/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainError } from '../domain/errors.ts';
import type { Rack, RackCommand, RackCommandBody } from '../domain/rack.ts';
import { createServiceFixture, snapshotStore, type ServiceFixture } from '../testing/index.ts';

type NetworkConfig = Extract<RackCommandBody, { kind: 'network-config' }>;

let f: ServiceFixture;

beforeEach(async () => {
  f = await createServiceFixture();
});

afterEach(async () => {
  await f.close();
});

function must<T>(r: Result<T, DomainError>): T {
  if (!r.ok) throw new Error(`unexpected ${r.error.kind}`);
  return r.value;
}

function hello(networkConfigVersion: number) {
  return { hostname: 'rack-1', version: '1.2.3', interfaces: [], networkConfigVersion };
}

async function configs(rackId: string): Promise<(RackCommand & { body: NetworkConfig })[]> {
  return (await f.store.pendingRackCommands(rackId)).filter(
    (c): c is RackCommand & { body: NetworkConfig } => c.body.kind === 'network-config',
  );
}

async function storedVersion(rackId: string): Promise<number> {
  return (await f.store.getRack(rackId))?.networkConfigVersion ?? -1;
}

/** The rack got its config: acknowledge every pending command as the agent would. */
async function ackAll(rackId: string): Promise<void> {
  const pending = await f.store.pendingRackCommands(rackId);
  await f.racks.ackCommands(
    rackId,
    pending.map((c) => c.id),
  );
}

describe('network config on session hello', () => {
  let rack: Rack;

  beforeEach(async () => {
    ({ rack } = await f.enrollRack());
  });

  describe('with a subnet served by the rack', () => {
    let version: number;

    beforeEach(async () => {
      must(await f.subnets.create(f.admin.actor, { cidr: '172.31.0.0/24' }));
      version = await storedVersion(rack.id);
      expect(version).toBeGreaterThan(0);
      await ackAll(rack.id);
      f.notifier.clear();
      f.clock.advance(10_000);
    });

    it.each([
      ['holds an older version', (v: number) => v - 1],
      ['holds none (data directory wiped)', () => 0],
      ['holds a version from the future', (v: number) => v + 5],
    ])('queues the current config when the agent %s', async (_, agentVersion) => {
      await f.racks.sessionChanged(rack.id, true, hello(agentVersion(version)));
      const [queued, ...more] = await configs(rack.id);
      expect(more).toEqual([]);
      expect(queued?.body.subnets).toMatchObject([{ cidr: '172.31.0.0/24' }]);
      expect(queued?.body.version).toBeGreaterThan(version);
      expect(await storedVersion(rack.id)).toBe(queued?.body.version);
      expect(f.notifier.calls).toEqual([rack.id]);
    });

    it('queues nothing when the agent holds the stored version', async () => {
      await f.racks.sessionChanged(rack.id, true, hello(version));
      expect(await configs(rack.id)).toEqual([]);
      expect(await storedVersion(rack.id)).toBe(version);
      expect(f.notifier.calls).toEqual([]);
      expect(await f.store.getRack(rack.id)).toMatchObject({
        connected: true,
        lastSeenAtMs: f.clock.now(),
        version: '1.2.3',
      });
    });

    it('replaces a still-pending config rather than adding a second one', async () => {
      await f.racks.sessionChanged(rack.id, true, hello(0));
      await f.racks.sessionChanged(rack.id, false);
      f.clock.advance(1_000);
      await f.racks.sessionChanged(rack.id, true, hello(0));
      const pending = await configs(rack.id);
      expect(pending).toHaveLength(1);
      expect(pending[0]?.body.version).toBe(await storedVersion(rack.id));
    });

    it('does not look at the network config when a session closes', async () => {
      const before = (await snapshotStore(f.store)).pendingCommands;
      await f.racks.sessionChanged(rack.id, false);
      expect((await snapshotStore(f.store)).pendingCommands).toEqual(before);
      expect(f.notifier.calls).toEqual([]);
    });
  });

  it('queues nothing to a fresh rack when no subnet applies to it', async () => {
    await f.racks.sessionChanged(rack.id, true, hello(0));
    expect(await configs(rack.id)).toEqual([]);
    expect(await storedVersion(rack.id)).toBe(0);
    expect(f.notifier.calls).toEqual([]);
  });

  it('queues nothing to a fresh second rack when the only subnet is unassigned', async () => {
    const { rack: second } = await f.enrollRack('rack-2');
    must(await f.subnets.create(f.admin.actor, { cidr: '10.0.0.0/24' }));
    // Every change queues a config to every rack; forget that to test the hello alone.
    await ackAll(rack.id);
    await ackAll(second.id);
    f.notifier.clear();
    const v = await storedVersion(second.id);
    await f.racks.sessionChanged(second.id, true, hello(v));
    expect(await configs(second.id)).toEqual([]);
    expect(f.notifier.calls).toEqual([]);
  });

  it('queues to a rack the subnet is assigned to when it lacks a config', async () => {
    const { rack: second } = await f.enrollRack('rack-2');
    const s = must(
      await f.subnets.create(f.admin.actor, { cidr: '10.0.0.0/24', rackId: second.id }),
    );
    await ackAll(second.id);
    f.notifier.clear();
    await f.racks.sessionChanged(second.id, true, hello(0));
    expect((await configs(second.id)).map((c) => c.body.subnets)).toEqual([[s]]);
    expect(f.notifier.calls).toEqual([second.id]);
  });
});

describe('a rack enrolled after the subnets were made', () => {
  it('queues the existing subnets to a rack that enrolled after they were made', async () => {
    const s = must(await f.subnets.create(f.admin.actor, { cidr: '10.0.0.0/24' }));
    const { rack: fresh } = await f.enrollRack();
    expect(fresh.networkConfigVersion).toBe(0);
    f.notifier.clear();

    await f.racks.sessionChanged(fresh.id, true, hello(0));

    const [queued, ...more] = await configs(fresh.id);
    expect(more).toEqual([]);
    expect(queued?.body.subnets).toEqual([s]);
    expect(queued?.body.version).toBeGreaterThan(0);
    expect(await storedVersion(fresh.id)).toBe(queued?.body.version);
    expect(f.notifier.calls).toEqual([fresh.id]);
  });
});
