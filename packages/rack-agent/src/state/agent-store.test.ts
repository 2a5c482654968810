import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { StatusEvent } from '../domain/events.ts';
import { parseMacAddress, type MacAddress } from '../domain/mac-address.ts';
import { openAgentStore, type AgentStore } from './agent-store.ts';

const mac = (text: string): MacAddress => {
  const parsed = parseMacAddress(text);
  if (parsed === undefined) throw new Error(`bad test MAC ${text}`);
  return parsed;
};

const statusEvent = (id: string, step = 'boot.kernel'): StatusEvent => ({
  id,
  machineId: 'm1',
  mac: '',
  step,
  result: 'started',
  message: `event ${id}`,
  occurredAtMs: 1,
  data: {},
});

const plan = (machineId: string, version: number, macs: string[] = []): BootPlan => ({
  machineId,
  version,
  macs: macs.map(mac),
  purpose: 'install',
  os: 'debian',
  release: 'bookworm',
  arch: 'amd64',
  kernelParams: '',
  files: [],
  hostname: `${machineId}-host`,
  metadataToken: 'token',
});

describe('agent store', () => {
  let root: string;
  let dataDir: string;
  let store: AgentStore;
  const clock = new FakeClock();

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'agent-store-'));
    dataDir = join(root, 'nested', 'data');
    store = openAgentStore({ dataDir, clock });
  });
  afterEach(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the data directory and a 0600 database file', () => {
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).isDirectory()).toBe(true);
  });

  it('keeps outbox order, across kinds', () => {
    store.appendOutbox({ kind: 'status', event: statusEvent('a') });
    store.appendOutbox({
      kind: 'lease',
      event: {
        id: 'l1',
        mac: mac('52:54:00:00:00:01'),
        ip: '10.0.0.5',
        subnetCidr: '10.0.0.0/24',
        action: 'bound',
        expiresAtMs: 10,
        occurredAtMs: 1,
        hostname: '',
        clientArch: 7,
      },
    });
    store.appendOutbox({ kind: 'status', event: statusEvent('b') });
    const records = store.outboxAfter(0, 10);
    expect(records.map((r) => r.event.id)).toEqual(['a', 'l1', 'b']);
    expect(records.map((r) => r.kind)).toEqual(['status', 'lease', 'status']);
    const first = records[0];
    expect(store.outboxAfter(first?.seq ?? 0, 10).map((r) => r.event.id)).toEqual(['l1', 'b']);
    expect(store.outboxAfter(0, 2)).toHaveLength(2);
  });

  it('ignores a duplicate event id', () => {
    expect(store.appendOutbox({ kind: 'status', event: statusEvent('a') })).toBeTypeOf('number');
    expect(
      store.appendOutbox({ kind: 'status', event: statusEvent('a', 'other') }),
    ).toBeUndefined();
    expect(store.outboxDepth()).toBe(1);
    expect(store.outboxAfter(0, 10)[0]?.event).toMatchObject({ step: 'boot.kernel' });
  });

  it('deletes acknowledged events and ignores unknown ids', () => {
    for (const id of ['a', 'b', 'c'])
      store.appendOutbox({ kind: 'status', event: statusEvent(id) });
    expect(store.ackOutbox(['a', 'c', 'nope'])).toBe(2);
    expect(store.outboxAfter(0, 10).map((r) => r.event.id)).toEqual(['b']);
    expect(store.outboxDepth()).toBe(1);
  });

  it('never reuses a seq after the newest rows are deleted', () => {
    const first = store.appendOutbox({ kind: 'status', event: statusEvent('a') });
    store.ackOutbox(['a']);
    const second = store.appendOutbox({ kind: 'status', event: statusEvent('b') });
    expect(second).toBeGreaterThan(first ?? Infinity);
  });

  it.each([
    ['newer replaces', 2, 'saved', 2],
    ['equal replaces', 1, 'saved', 1],
    ['older is ignored', 0, 'stale', 1],
  ] as const)('boot plan version rule: %s', (_name, version, outcome, stored) => {
    store.saveBootPlan(plan('m1', 1));
    expect(store.saveBootPlan(plan('m1', version))).toBe(outcome);
    expect(store.bootPlan('m1')?.version).toBe(stored);
  });

  it('finds a boot plan by MAC and removes it', () => {
    store.saveBootPlan(plan('m1', 1, ['52:54:00:00:00:01', '52:54:00:00:00:02']));
    store.saveBootPlan(plan('m2', 1, ['52:54:00:00:00:03']));
    expect(store.bootPlanByMac(mac('52:54:00:00:00:02'))?.machineId).toBe('m1');
    expect(store.bootPlanByMac(mac('52:54:00:00:00:09'))).toBeUndefined();
    expect(store.bootPlanCount()).toBe(2);
    expect(store.removeBootPlan('m1')).toBe(true);
    expect(store.removeBootPlan('m1')).toBe(false);
    expect(store.bootPlanByMac(mac('52:54:00:00:00:02'))).toBeUndefined();
  });

  it('records an applied command once', () => {
    store.recordAppliedCommand('c1', { kind: 'prefetch', detail: 'first' });
    store.recordAppliedCommand('c1', { kind: 'prefetch', detail: 'second' });
    expect(store.appliedCommand('c1')?.result).toEqual({ kind: 'prefetch', detail: 'first' });
    clock.advance(1000);
    expect(store.pruneAppliedCommands(clock.now())).toBe(1);
    expect(store.appliedCommand('c1')).toBeUndefined();
  });

  it('enrolls once', () => {
    store.saveIdentity({ rackId: 'r1', rackSecret: 's', name: 'n' });
    expect(() => store.saveIdentity({ rackId: 'r2', rackSecret: 's', name: 'n' })).toThrow();
  });

  it('keeps everything after close and reopen', () => {
    store.saveIdentity({ rackId: 'r1', rackSecret: 'secret', name: 'rack one' });
    store.saveNetworkConfig({ version: 3, subnets: [], reservations: [] });
    store.saveBootPlan(plan('m1', 4, ['52:54:00:00:00:01']));
    store.recordAppliedCommand('c1', { kind: 'boot-plan', detail: 'saved' });
    store.appendOutbox({ kind: 'status', event: statusEvent('a') });
    store.appendOutbox({ kind: 'status', event: statusEvent('b') });
    store.ackOutbox(['a']);
    store.close();
    store.close(); // idempotent

    store = openAgentStore({ dataDir, clock });
    expect(store.identity()).toEqual({ rackId: 'r1', rackSecret: 'secret', name: 'rack one' });
    expect(store.networkConfig()?.version).toBe(3);
    expect(store.bootPlan('m1')).toEqual(plan('m1', 4, ['52:54:00:00:00:01']));
    expect(store.appliedCommand('c1')?.result).toEqual({ kind: 'boot-plan', detail: 'saved' });
    expect(store.outboxAfter(0, 10).map((r) => r.event)).toEqual([statusEvent('b')]);
  });
});
