import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '@ingot/common';
import { parseMacAddress } from '../domain/mac-address.ts';
import { createEventRecorder } from '../events/event-recorder.ts';
import { openAgentStore, type AgentStore } from '../state/agent-store.ts';
import { createHttpApp } from './http-server.ts';
import { createMachineApi, MAX_MACHINE_EVENT_BYTES } from './machine-api.ts';

const MAC = parseMacAddress('52:54:00:aa:bb:01');
if (MAC === undefined) throw new Error('bad test MAC');

describe('machine API', () => {
  let root: string;
  let store: AgentStore;
  let app: ReturnType<typeof createHttpApp>;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'machine-api-'));
    const clock = new FakeClock();
    store = openAgentStore({ dataDir: root, clock });
    store.saveBootPlan({
      machineId: 'm1',
      version: 1,
      macs: [MAC],
      purpose: 'commission',
      os: 'debian',
      release: 'bookworm',
      arch: 'amd64',
      kernelParams: '',
      files: [],
      hostname: 'node1',
      metadataToken: 't',
    });
    const recorder = createEventRecorder({
      store,
      clock,
      logger: silentLogger,
      newId: () => 'ev-1',
    });
    app = createHttpApp(silentLogger);
    app.route('/', createMachineApi({ store, recorder, logger: silentLogger }));
  });
  afterEach(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const post = (body: unknown, contentType = 'application/json') =>
    app.request('/api/v1/machine-events', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('answers health checks', async () => {
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it.each([
    ['by machine id', { machine_id: 'm1' }],
    ['by MAC in any format', { mac: '52-54-00-AA-BB-01' }],
    ['by both', { machine_id: 'm1', mac: '52:54:00:aa:bb:01' }],
  ])('records an event %s', async (_name, identification) => {
    const response = await post({
      ...identification,
      step: 'install.image',
      result: 'succeeded',
      message: 'image written',
      data: { bytes: 123 },
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: 'ev-1' });
    expect(store.outboxAfter(0, 10)).toMatchObject([
      {
        kind: 'status',
        event: {
          id: 'ev-1',
          machineId: 'm1',
          step: 'install.image',
          result: 'succeeded',
          message: 'image written',
          data: { bytes: 123 },
        },
      },
    ]);
  });

  it.each([
    ['not an object', [1, 2]],
    ['no identification', { step: 'boot.kernel', result: 'started' }],
    ['unknown field', { machine_id: 'm1', step: 'boot.kernel', result: 'started', extra: 1 }],
    ['bad MAC', { mac: 'zz', step: 'boot.kernel', result: 'started' }],
    ['bad step', { machine_id: 'm1', step: 'Boot Kernel', result: 'started' }],
    ['bad result', { machine_id: 'm1', step: 'boot.kernel', result: 'done' }],
    ['message not a string', { machine_id: 'm1', step: 'boot.kernel', result: 'info', message: 3 }],
    ['data not an object', { machine_id: 'm1', step: 'boot.kernel', result: 'info', data: [] }],
    [
      'MAC of another machine',
      { machine_id: 'm1', mac: '52:54:00:aa:bb:02', step: 'a', result: 'info' },
    ],
    ['invalid JSON', '{"machine_id": '],
  ])('refuses %s with 400 problem+json', async (_name, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem: unknown = await response.json();
    expect(problem).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
    expect(problem).toHaveProperty('detail', expect.any(String));
    expect(store.outboxDepth()).toBe(0);
  });

  it('answers 404 for a machine without a boot plan', async () => {
    for (const id of [{ machine_id: 'm9' }, { mac: '52:54:00:00:00:99' }]) {
      const response = await post({ ...id, step: 'boot.kernel', result: 'started' });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ status: 404, title: 'Not Found' });
    }
  });

  it('refuses non-JSON content and oversized bodies', async () => {
    expect((await post('machine_id=m1', 'application/x-www-form-urlencoded')).status).toBe(415);
    const big = {
      machine_id: 'm1',
      step: 'a',
      result: 'info',
      message: 'x'.repeat(MAX_MACHINE_EVENT_BYTES),
    };
    expect((await post(big)).status).toBe(413);
  });

  it('answers unknown routes with a problem', async () => {
    const response = await app.request('/nope');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});
