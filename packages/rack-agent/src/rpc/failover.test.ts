/**
 * Failover between controllers (issue 7): an agent given several controller addresses moves to
 * the next one when its controller dies or cannot be reached, and the events it buffered while
 * it had no controller arrive once, at the controller it reaches. Real grpc-js servers on
 * 127.0.0.1 (`FakeController`) sharing the rack's credentials, as controllers on one database do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@ingot/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle } from '../agent.ts';
import { defaultAgentConfig } from '../config.ts';
import { FakeController } from '../testing/fake-controller.ts';
import { waitUntil } from '../testing/wait-until.ts';

describe('controller failover', () => {
  let root: string;
  let a: FakeController;
  let b: FakeController;
  let agent: AgentHandle | undefined;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'rack-failover-'));
    a = new FakeController({ enrollmentTokens: ['t'] });
    b = new FakeController();
    await a.start();
    await b.start();
  });
  afterEach(async () => {
    await agent?.close();
    await a.stop();
    await b.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const startOn = async (controllers: string[]): Promise<AgentHandle> => {
    agent = await startAgent(
      defaultAgentConfig({
        controllers,
        dataDir: join(root, 'data'),
        enrollmentToken: 't',
        http: { host: '127.0.0.1', port: 0 },
        reconnect: { initialMs: 10, maxMs: 50 },
        insecureGrpc: true,
        hostname: 'rack',
      }),
      { logger: silentLogger },
    );
    return agent;
  };
  const step = (handle: AgentHandle, name: string): string =>
    handle.events.recordStatus({ machineId: 'm1', step: name, result: 'info', message: name }).id;
  const on = (handle: AgentHandle, controller: FakeController) =>
    waitUntil(
      () => handle.session().connected && handle.session().controller === controller.address,
      { what: `a session on ${controller.address}`, timeoutMs: 10_000 },
    );

  it('moves to the next controller when its own dies, and delivers what it buffered once', async () => {
    const handle = await startOn([a.address, b.address]);
    await on(handle, a);
    // The controllers share the rack (one database): B knows A's rack and secret.
    for (const [id, secret] of a.racks) b.racks.set(id, secret);
    const before = step(handle, 'before');
    await a.waitFor(() => a.events.has(before), { what: 'the first event at A' });
    await waitUntil(() => handle.store.outboxDepth() === 0, { what: 'the ack' });

    // Both controllers down: events wait in the outbox.
    await a.stop();
    await b.stop();
    await waitUntil(() => !handle.session().connected, { what: 'the session to drop' });
    const buffered = ['one', 'two', 'three'].map((name) => step(handle, name));
    expect(handle.store.outboxDepth()).toBe(3);

    // Only B comes back: the agent finds it, and sends each buffered event once.
    await b.start();
    await on(handle, b);
    await b.waitFor(() => buffered.every((id) => b.events.has(id)), {
      what: 'buffered events at B',
    });
    await waitUntil(() => handle.store.outboxDepth() === 0, { what: 'the outbox to drain' });
    expect(b.eventLog.map((e) => e.id)).toEqual(buffered);
    expect(b.events.has(before)).toBe(false);
    expect(a.eventLog.map((e) => e.id)).toEqual([before]);
  });

  it('reaches a live controller when the first address does not answer', async () => {
    // Enroll against A, then list a dead address first.
    const first = await startOn([a.address]);
    await on(first, a);
    await first.close();
    agent = undefined;
    for (const [id, secret] of a.racks) b.racks.set(id, secret);
    const dead = a.address;
    await a.stop();
    const handle = await startOn([dead, b.address]);
    await on(handle, b);
    const id = step(handle, 'after');
    await b.waitFor(() => b.events.has(id), { what: 'the event at B' });
    // The session holder is what /metrics shows (ingot_controller_session_info).
    expect(handle.session().controller).toBe(b.address);
  });
});
