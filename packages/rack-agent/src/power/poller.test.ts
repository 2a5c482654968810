import { FakeClock, silentLogger } from '@ingot/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { PowerReport } from '../domain/commands.ts';
import { FakePowerDriver } from '../testing/index.ts';
import { createPowerPoller, type PowerPoller } from './poller.ts';
import { createPowerRegistry } from './registry.ts';

const params = { address: '10.0.0.9', password: 'hunter2-secret' };

describe('power poller', () => {
  let poller: PowerPoller | undefined;
  afterEach(() => poller?.close());

  function setup(): { a: FakePowerDriver; b: FakePowerDriver; reports: PowerReport[] } {
    const a = new FakePowerDriver({ type: 'fake-a', initialState: 'on' });
    const b = new FakePowerDriver({ type: 'fake-b', initialState: 'off' });
    const reports: PowerReport[] = [];
    poller = createPowerPoller({
      registry: createPowerRegistry([a, b]),
      clock: new FakeClock(),
      logger: silentLogger,
      intervalMs: 3_600_000,
      report: (r) => reports.push(r),
    });
    return { a, b, reports };
  }

  it('reports the state of every machine it was told about, and forgets removed ones', async () => {
    const { reports } = setup();
    poller!.set('m1', 'fake-a', params);
    poller!.set('m2', 'fake-b', params);
    await poller!.poll();
    expect(reports.map((r) => [r.machineId, r.ok, r.state]).sort()).toEqual([
      ['m1', true, 'on'],
      ['m2', true, 'off'],
    ]);
    poller!.set('m1', '', undefined);
    reports.length = 0;
    await poller!.poll();
    expect(reports.map((r) => r.machineId)).toEqual(['m2']);
    expect(poller!.size()).toBe(1);
  });

  it('reports a failing BMC for that machine only, without its password', async () => {
    const { a, reports } = setup();
    a.failNext({ kind: 'auth', message: 'bad password hunter2-secret' }, 'query');
    poller!.set('m1', 'fake-a', params);
    poller!.set('m2', 'fake-b', params);
    await poller!.poll();
    const failed = reports.find((r) => r.machineId === 'm1');
    expect(failed).toMatchObject({ ok: false, errorKind: 'auth' });
    expect(failed?.message).not.toContain('hunter2-secret');
    expect(reports.find((r) => r.machineId === 'm2')).toMatchObject({ ok: true, state: 'off' });
  });

  it('reports unknown drivers and bad parameters as settings errors', async () => {
    const { reports } = setup();
    poller!.set('m1', 'nosuch', params);
    poller!.set('m2', 'fake-b', 'not an object');
    await poller!.poll();
    expect(reports.map((r) => [r.machineId, r.errorKind]).sort()).toEqual([
      ['m1', 'settings'],
      ['m2', 'settings'],
    ]);
  });
});
