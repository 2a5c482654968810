import { FakeClock, silentLogger } from '@ingot/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../app/ports.ts';
import { openSqliteStore } from '../testing/index.ts';
import type { ControllerInstance } from './instance.ts';
import { soleLeader, type Leadership } from './leadership.ts';
import {
  startRackSessionLeases,
  type LocalRackSession,
  type RackSessionLeases,
} from './rack-session-leases.ts';
import { createSignalHub, type SignalHub } from './signals.ts';

const T0 = Date.UTC(2026, 0, 1);
const follower: Leadership = { isLeader: () => false, close: () => Promise.resolve() };

/** One controller: its leases and the sessions its rack server would hold. */
interface Node {
  readonly leases: RackSessionLeases;
  readonly open: Map<string, LocalRackSession>;
  readonly ended: { rackId: string; sessionId: string }[];
  readonly expired: string[];
  connect(rackId: string, sessionId: string): Promise<void>;
}

const nodes: Node[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.leases.close();
});

function node(
  store: Store,
  hub: SignalHub,
  clock: FakeClock,
  instance: ControllerInstance,
  leadership: Leadership = follower,
): Node {
  const open = new Map<string, LocalRackSession>();
  const ended: Node['ended'] = [];
  const expired: string[] = [];
  const leases = startRackSessionLeases({
    store: store.cluster,
    signals: hub.join(),
    instance,
    leadership,
    clock,
    logger: silentLogger,
    leaseMs: 15_000,
    renewMs: 3_600_000,
    onExpired: (lease) => {
      expired.push(lease.rackId);
      return Promise.resolve();
    },
  });
  leases.attach({
    list: () => [...open.values()],
    end(rackId, sessionId) {
      if (open.get(rackId)?.sessionId !== sessionId) return;
      open.delete(rackId);
      ended.push({ rackId, sessionId });
    },
  });
  const n: Node = {
    leases,
    open,
    ended,
    expired,
    async connect(rackId, sessionId) {
      await leases.claim(rackId, sessionId);
      open.set(rackId, { rackId, sessionId });
    },
  };
  nodes.push(n);
  return n;
}

async function storeWithRack(): Promise<Store> {
  const store = await openSqliteStore(':memory:');
  await store.insertRack({
    id: 'r1',
    name: 'r1',
    secretHash: 'ab'.repeat(32),
    hostname: 'r1',
    version: '0',
    interfaces: [],
    createdAtMs: T0,
    lastSeenAtMs: null,
    connected: false,
    health: null,
    networkConfigVersion: 0,
  });
  return store;
}

/** Lets the signal handler's store read finish. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('rack session leases', () => {
  it('a session opened on B ends the one on A at once (signal), and B holds the lease', async () => {
    const store = await storeWithRack();
    const hub = createSignalHub();
    const clock = new FakeClock(T0);
    const a = node(store, hub, clock, { id: 'a-1', name: 'a' });
    const b = node(store, hub, clock, { id: 'b-1', name: 'b' });
    await a.connect('r1', 's1');
    await b.connect('r1', 's2');
    await settle();
    expect(a.ended).toEqual([{ rackId: 'r1', sessionId: 's1' }]);
    expect(b.ended).toEqual([]);
    expect(await store.cluster.getRackSession('r1')).toMatchObject({
      controllerId: 'b-1',
      controllerName: 'b',
      sessionId: 's2',
    });
    // A's session is over: its release does not take the lease from B.
    expect(await a.leases.release('r1', 's1')).toBe(false);
    await store.close();
  });

  it('without the signal, the next renewal ends the session that lost its lease', async () => {
    const store = await storeWithRack();
    const clock = new FakeClock(T0);
    // Separate hubs: A never hears of B's claim.
    const a = node(store, createSignalHub(), clock, { id: 'a-1', name: 'a' });
    const b = node(store, createSignalHub(), clock, { id: 'b-1', name: 'b' });
    await a.connect('r1', 's1');
    await b.connect('r1', 's2');
    await settle();
    expect(a.ended).toEqual([]);
    clock.advance(5_000);
    await a.leases.renewNow();
    await b.leases.renewNow();
    expect(a.ended).toEqual([{ rackId: 'r1', sessionId: 's1' }]);
    expect(await store.cluster.getRackSession('r1')).toMatchObject({
      sessionId: 's2',
      expiresAtMs: T0 + 20_000,
    });
    await store.close();
  });

  it('a dead holder’s lease expires; only the leader clears it and reports the rack', async () => {
    const store = await storeWithRack();
    const hub = createSignalHub();
    const clock = new FakeClock(T0);
    const dead = node(store, hub, clock, { id: 'a-1', name: 'a' });
    await dead.connect('r1', 's1');
    dead.leases.close();
    const followerNode = node(store, hub, clock, { id: 'c-1', name: 'c' });
    const leader = node(store, hub, clock, { id: 'b-1', name: 'b' }, soleLeader);
    clock.advance(14_999);
    await leader.leases.renewNow();
    expect(leader.expired).toEqual([]);
    clock.advance(1);
    await followerNode.leases.renewNow();
    expect(followerNode.expired).toEqual([]);
    await leader.leases.renewNow();
    expect(leader.expired).toEqual(['r1']);
    expect(await store.cluster.getRackSession('r1')).toBeUndefined();
    await store.close();
  });
});
