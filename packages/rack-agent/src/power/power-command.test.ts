import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '@ingot/common';
import type { PowerRequest } from '../domain/commands.ts';
import type { StatusEvent } from '../domain/events.ts';
import { createEventRecorder } from '../events/event-recorder.ts';
import { openAgentStore, type AgentStore } from '../state/agent-store.ts';
import { FakePowerDriver } from '../testing/fake-power-driver.ts';
import { createManualPowerDriver } from './drivers/manual.ts';
import { runPowerCommand, type PowerCommandDeps } from './power-command.ts';
import { createPowerRegistry } from './registry.ts';

const target = { machineId: 'm1', hostname: 'node1' };
const request = (over: Partial<PowerRequest>): PowerRequest => ({
  machineId: 'm1',
  action: 'on',
  driver: 'fake',
  params: { address: '10.0.0.9', password: 'sekrit-pw' },
  pxeOnce: true,
  uefi: false,
  ...over,
});

describe('runPowerCommand', () => {
  let root: string;
  let store: AgentStore;
  let driver: FakePowerDriver;
  let deps: PowerCommandDeps;
  const signal = new AbortController().signal;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'power-command-'));
    const clock = new FakeClock();
    store = openAgentStore({ dataDir: root, clock });
    driver = new FakePowerDriver();
    deps = {
      registry: createPowerRegistry([createManualPowerDriver(), driver]),
      recorder: createEventRecorder({ store, clock, logger: silentLogger }),
      clock,
      logger: silentLogger,
      setPowerOptions: { sleep: () => Promise.resolve(), maxAttempts: 2 },
    };
  });
  afterEach(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const events = (): StatusEvent[] =>
    store.outboxAfter(0, 100).flatMap((r) => (r.kind === 'status' ? [r.event] : []));

  it('emits started then succeeded', async () => {
    const report = await runPowerCommand(deps, request({}), target, signal);
    expect(report).toMatchObject({ machineId: 'm1', ok: true, state: 'on' });
    expect(events()).toMatchObject([
      { step: 'power.on', result: 'started', machineId: 'm1' },
      { step: 'power.on', result: 'succeeded', data: { state: 'on', verified: true } },
    ]);
  });

  it('emits failed with the error kind and never leaks parameters', async () => {
    driver.failNext({ kind: 'auth', message: 'rejected password sekrit-pw' });
    const report = await runPowerCommand(deps, request({ action: 'cycle' }), target, signal);
    expect(report).toMatchObject({ ok: false, errorKind: 'auth', state: 'unknown' });
    expect(events().map((e) => [e.step, e.result])).toEqual([
      ['power.cycle', 'started'],
      ['power.cycle', 'failed'],
    ]);
    expect(JSON.stringify({ report, events: events() })).not.toContain('sekrit-pw');
    expect(JSON.stringify(events())).not.toContain('10.0.0.9');
  });

  it('asks the operator through the event for manual power', async () => {
    const report = await runPowerCommand(
      deps,
      request({ driver: 'manual', params: {} }),
      target,
      signal,
    );
    expect(report.state).toBe('unknown');
    expect(events()[1]).toMatchObject({
      result: 'succeeded',
      message: 'Manual power driver: an operator must power on node1 now (PXE boot once)',
    });
  });

  it('reports an unknown driver as unsupported and bad params as settings', async () => {
    expect(await runPowerCommand(deps, request({ driver: 'ipmi' }), target, signal)).toMatchObject({
      ok: false,
      errorKind: 'unsupported',
    });
    expect(
      await runPowerCommand(deps, request({ params: { password: 'sekrit-pw' } }), target, signal),
    ).toMatchObject({ ok: false, errorKind: 'settings' });
    expect(events().filter((e) => e.result === 'failed')).toHaveLength(2);
  });

  it('emits nothing for a query', async () => {
    const report = await runPowerCommand(deps, request({ action: 'query' }), target, signal);
    expect(report).toMatchObject({ ok: true, state: 'off' });
    expect(events()).toEqual([]);
  });
});
