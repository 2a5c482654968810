import { createJsonLogger } from '@ingot/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';
import {
  createServiceFixture,
  rackStep,
  snapshotStore,
  uniqueMac,
  type FixtureUser,
  type ServiceFixture,
} from '../testing/index.ts';
import { createApi } from './app.ts';

const MAX_BODY_BYTES = 4_096;
const PROBLEMS = 'https://ingot.dev/problems/';

let f: ServiceFixture;
let api: ReturnType<typeof createApi>;
let logLines: string[];
let alice: FixtureUser;
let bob: FixtureUser;
let rack: Rack;
/** Alice's allocated machine. */
let mine: Machine;
/** Alice's allocated, locked machine. */
let locked: Machine;
/** A ready, unowned machine. */
let ready: Machine;

beforeEach(async () => {
  f = await createServiceFixture();
  logLines = [];
  api = createApi(
    {
      machines: f.machines,
      racks: f.racks,
      users: f.users,
      subnets: f.subnets,
      images: f.images,
      store: f.store,
      clock: f.clock,
      heartbeatIntervalMs: 5_000,
      maxBodyBytes: MAX_BODY_BYTES,
    },
    createJsonLogger((line) => logLines.push(line), 'error'),
  );
  alice = await f.addUser('alice');
  bob = await f.addUser('bob');
  ({ rack } = await f.enrollRack());
  ready = await f.createMachine({ hostname: 'ready-1' });
  mine = await f.allocatedMachine(alice, { hostname: 'alice-1' });
  locked = await f.allocatedMachine(alice, { hostname: 'alice-locked' });
  const result = await f.machines.setLocked(alice.actor, locked.id, true);
  if (!result.ok) throw new Error(result.error.kind);
});

afterEach(async () => {
  // No request may have reached the "unhandled error" branch.
  expect(logLines).toEqual([]);
  await f.close();
});

type As = 'admin' | 'alice' | 'bob' | 'none' | 'wrong-key' | 'basic';

interface Call {
  readonly as?: As | undefined;
  /** A value to send as JSON. */
  readonly json?: unknown;
  /** A body sent as is. */
  readonly raw?: string | undefined;
  readonly contentType?: string | undefined;
}

function authorization(as: As): string | undefined {
  switch (as) {
    case 'admin':
      return `Bearer ${f.admin.apiKey}`;
    case 'alice':
      return `Bearer ${alice.apiKey}`;
    case 'bob':
      return `Bearer ${bob.apiKey}`;
    case 'none':
      return undefined;
    case 'wrong-key':
      return `Bearer ${alice.apiKey.slice(0, -2)}xx`;
    case 'basic':
      return `Basic ${Buffer.from('alice:secret').toString('base64')}`;
  }
}

async function call(method: string, path: string, c: Call = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const auth = authorization(c.as ?? 'admin');
  if (auth !== undefined) headers.authorization = auth;
  let body: string | undefined;
  if (c.json !== undefined) {
    body = JSON.stringify(c.json);
    headers['content-type'] = 'application/json';
  }
  if (c.raw !== undefined) {
    body = c.raw;
    headers['content-type'] = 'application/json';
  }
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  return api.request(path, { method, headers, body });
}

async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe('bad requests: a problem document, and the store unchanged', () => {
  interface BadCase extends Omit<Call, 'json'> {
    /** A value to send as JSON, or a function giving it once the fixture exists. */
    readonly json?: unknown;
    readonly method: string;
    readonly path: () => string;
    readonly status: number | readonly number[];
    /** Last segment of the problem type. */
    readonly type?: string | undefined;
  }

  const M = '/api/v1/machines';
  const cases: Record<string, BadCase> = {
    'malformed JSON': {
      method: 'POST',
      path: () => M,
      raw: '{"macs": [',
      status: 400,
      type: 'invalid',
    },
    'JSON that is not an object': { method: 'POST', path: () => M, raw: '[1, 2]', status: 400 },
    'an unknown field': {
      method: 'POST',
      path: () => M,
      json: { macs: [uniqueMac()], colour: 'red' },
      status: 400,
      type: 'invalid',
    },
    'an unknown field on deploy': {
      method: 'POST',
      path: () => `${M}/${mine.id}/deploy`,
      as: 'alice',
      json: { os: 'debian', force: true },
      status: 400,
    },
    'an unknown field on allocate': {
      method: 'POST',
      path: () => `${M}/allocate`,
      as: 'alice',
      json: { memory: 1024 },
      status: 400,
    },
    'a string for a number': {
      method: 'POST',
      path: () => M,
      json: { macs: [uniqueMac()], cpu_count: 'four' },
      status: 400,
    },
    'a string for a list': {
      method: 'POST',
      path: () => M,
      json: { macs: uniqueMac() },
      status: 400,
    },
    'a fractional number': {
      method: 'PATCH',
      path: () => `${M}/${ready.id}`,
      json: { memory_mib: 1.5 },
      status: 400,
    },
    'a negative minimum': {
      method: 'POST',
      path: () => `${M}/allocate`,
      as: 'alice',
      json: { cpu_count: -1 },
      status: 400,
    },
    'a value outside an enum': {
      method: 'POST',
      path: () => M,
      json: { macs: [uniqueMac()], arch: 'vax' },
      status: 400,
    },
    'an invalid MAC': { method: 'POST', path: () => M, json: { macs: ['02:00:zz'] }, status: 400 },
    'the same MAC twice': {
      method: 'POST',
      path: () => M,
      json: { macs: ['02:00:00:aa:bb:cc', '02-00-00-AA-BB-CC'] },
      status: 400,
    },
    'a hostname that is not a host name': {
      method: 'POST',
      path: () => M,
      json: { macs: [uniqueMac()], hostname: 'my host!' },
      status: 400,
    },
    'a change to a hostname that is not a host name': {
      method: 'PATCH',
      path: () => `${M}/${ready.id}`,
      json: { hostname: '-leading-hyphen' },
      status: 400,
    },
    'a change to an unknown rack': {
      method: 'PATCH',
      path: () => `${M}/${ready.id}`,
      json: { rack: 'no-such-rack' },
      status: 400,
    },
    'a missing required field': {
      method: 'POST',
      path: () => M,
      json: { arch: 'amd64' },
      status: 400,
    },
    'no body where one is required': { method: 'POST', path: () => M, status: 400 },
    'a missing power action': {
      method: 'POST',
      path: () => `${M}/${mine.id}/power`,
      as: 'alice',
      json: {},
      status: 400,
    },
    'a body that is not JSON': {
      method: 'POST',
      path: () => M,
      raw: 'macs=02:00:00:aa:bb:cc',
      contentType: 'text/plain',
      status: 415,
    },
    'an oversized body': {
      method: 'POST',
      path: () => M,
      json: { macs: [uniqueMac()], hostname: 'x'.repeat(MAX_BODY_BYTES) },
      status: 413,
      type: 'too-large',
    },
    'an invalid query value': {
      method: 'GET',
      path: () => `${M}?status=sleeping`,
      status: 400,
    },
    'an unknown query parameter': { method: 'GET', path: () => `${M}?colour=red`, status: 400 },
    'an invalid transition': {
      method: 'POST',
      path: () => `${M}/${ready.id}/deploy`,
      json: {},
      status: 409,
      type: 'invalid-transition',
    },
    'an action on a locked machine': {
      method: 'POST',
      path: () => `${M}/${locked.id}/release`,
      as: 'alice',
      status: 409,
      type: 'locked',
    },
    'allocate when nothing matches': {
      method: 'POST',
      path: () => `${M}/allocate`,
      as: 'alice',
      json: { arch: 's390x' },
      status: 409,
      type: 'no-match',
    },
    'a MAC another machine has': {
      method: 'POST',
      path: () => M,
      json: () => ({ macs: [...mine.macs] }),
      status: 409,
      type: 'conflict',
    },
    'a hostname another machine has': {
      method: 'PATCH',
      path: () => `${M}/${ready.id}`,
      json: { hostname: 'alice-1' },
      status: 409,
    },
    'a taken username': {
      method: 'POST',
      path: () => '/api/v1/users',
      json: { username: 'alice' },
      status: 409,
    },
    'no API key': {
      method: 'GET',
      path: () => M,
      as: 'none',
      status: 401,
      type: 'unauthenticated',
    },
    'a wrong API key': { method: 'GET', path: () => M, as: 'wrong-key', status: 401 },
    'basic authentication': { method: 'GET', path: () => M, as: 'basic', status: 401 },
    'no API key on a write': {
      method: 'POST',
      path: () => M,
      as: 'none',
      json: { macs: [uniqueMac()] },
      status: 401,
    },
    'another user’s machine: get': {
      method: 'GET',
      path: () => `${M}/${mine.id}`,
      as: 'bob',
      status: 404,
      type: 'not-found',
    },
    'another user’s machine: deploy': {
      method: 'POST',
      path: () => `${M}/${mine.id}/deploy`,
      as: 'bob',
      json: {},
      status: [403, 404],
    },
    'another user’s machine: release': {
      method: 'POST',
      path: () => `${M}/${mine.id}/release`,
      as: 'bob',
      status: [403, 404],
    },
    'another user’s machine: lock': {
      method: 'POST',
      path: () => `${M}/${mine.id}/lock`,
      as: 'bob',
      status: [403, 404],
    },
    'another user’s machine: events': {
      method: 'GET',
      path: () => `${M}/${mine.id}/events`,
      as: 'bob',
      status: 404,
    },
    'another user’s machine: events by query': {
      method: 'GET',
      path: () => `/api/v1/events?machine=${mine.id}`,
      as: 'bob',
      status: 404,
    },
    'a non-admin creating a machine': {
      method: 'POST',
      path: () => M,
      as: 'alice',
      json: { macs: [uniqueMac()] },
      status: 403,
      type: 'forbidden',
    },
    'a non-admin changing a machine': {
      method: 'PATCH',
      path: () => `${M}/${mine.id}`,
      as: 'alice',
      json: { zone: 'mine' },
      status: 403,
    },
    'a non-admin deleting a machine': {
      method: 'DELETE',
      path: () => `${M}/${mine.id}`,
      as: 'alice',
      status: 403,
    },
    'a non-admin creating a user': {
      method: 'POST',
      path: () => '/api/v1/users',
      as: 'alice',
      json: { username: 'mallory', role: 'admin' },
      status: 403,
    },
    'a non-admin creating an enrollment token': {
      method: 'POST',
      path: () => '/api/v1/racks/enroll-tokens',
      as: 'alice',
      status: 403,
    },
    'an unknown machine': {
      method: 'GET',
      path: () => `${M}/nosuch`,
      status: 404,
      type: 'not-found',
    },
    'an unknown route': {
      method: 'GET',
      path: () => '/api/v1/nope',
      status: 404,
      type: 'not-found',
    },
    'an unknown route without a key': {
      method: 'GET',
      path: () => '/api/v1/nope',
      as: 'none',
      status: 401,
    },
    'an unknown route outside the API': {
      method: 'GET',
      path: () => '/nope',
      as: 'none',
      status: 404,
    },
    'a method the route does not have': { method: 'PUT', path: () => M, json: {}, status: 404 },
  };

  it.each(Object.entries(cases))('%s', async (_, c) => {
    const before = await snapshotStore(f.store);
    const res = await call(c.method, c.path(), {
      ...c,
      json: typeof c.json === 'function' ? (c.json as () => unknown)() : c.json,
    });

    expect([c.status].flat()).toContain(res.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await json(res);
    expect(body).toMatchObject({
      type: expect.stringMatching(new RegExp(`^${PROBLEMS}[a-z-]+$`)) as unknown,
      title: expect.stringMatching(/./) as unknown,
      status: res.status,
      detail: expect.stringMatching(/./) as unknown,
    });
    if (c.type !== undefined) expect(body.type).toBe(PROBLEMS + c.type);
    if (res.status === 401) {
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ingot"');
    }
    expect(await snapshotStore(f.store)).toEqual(before);
  });

  it('names the allowed actions in an invalid-transition problem', async () => {
    const res = await call('POST', `/api/v1/machines/${ready.id}/deploy`, { json: {} });
    expect(await json(res)).toEqual({
      type: `${PROBLEMS}invalid-transition`,
      title: 'Action not allowed in this status',
      status: 409,
      detail: `machine ${ready.id} is ready: deploy is not allowed (allowed: commission, allocate, mark_broken)`,
      status_name: 'ready',
      action: 'deploy',
      allowed: ['commission', 'allocate', 'mark_broken'],
    });
  });

  it('lists each invalid field in a validation problem', async () => {
    const res = await call('POST', '/api/v1/machines', { json: { macs: 'x', cpu_count: 'four' } });
    const body = await json<{ errors: { path: string }[] }>(res);
    expect(body.errors.map((e) => e.path).sort()).toEqual(['cpu_count', 'macs']);
  });
});

describe('happy paths', () => {
  it('creates a machine: ready without commissioning, secrets never shown', async () => {
    const mac = '52:54:00:12:34:56';
    const res = await call('POST', '/api/v1/machines', {
      json: {
        hostname: 'node-7',
        macs: ['52-54-00-12-34-56'],
        arch: 'arm64',
        cpu_count: 8,
        memory_mib: 16_384,
        storage_gib: 240,
        tags: ['gpu'],
        power: { type: 'ipmi', params: { address: '10.0.0.7', password: 'pa55word' } },
        commission: false,
      },
    });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain('pa55word');
    expect(JSON.parse(text)).toMatchObject({
      hostname: 'node-7',
      status: 'ready',
      macs: [mac],
      arch: 'arm64',
      cpu_count: 8,
      memory_mib: 16_384,
      storage_gib: 240,
      tags: ['gpu'],
      owner: null,
      locked: false,
      power: { type: 'ipmi', state: 'unknown', seen_at: null },
      created_at: new Date(f.clock.now()).toISOString(),
    });
    expect((await f.store.getMachineByMac(mac))?.status).toBe('ready');
  });

  it('creates a machine to commission as new when it has no power settings', async () => {
    const res = await call('POST', '/api/v1/machines', { json: { macs: [uniqueMac()] } });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ status: 'new', arch: 'amd64' });
  });

  it('lists what each user may see, with filters and paging', async () => {
    const bobs = await f.allocatedMachine(bob, { hostname: 'bob-1' });
    const hostnames = async (as: As, query = ''): Promise<string[]> => {
      const res = await call('GET', `/api/v1/machines${query}`, { as });
      expect(res.status).toBe(200);
      return (await json<{ hostname: string }[]>(res)).map((m) => m.hostname);
    };
    expect(await hostnames('admin')).toEqual(['alice-1', 'alice-locked', 'bob-1', 'ready-1']);
    expect(await hostnames('alice')).toEqual(['alice-1', 'alice-locked', 'ready-1']);
    expect(await hostnames('bob')).toEqual([bobs.hostname, 'ready-1']);
    expect(await hostnames('admin', '?status=ready')).toEqual(['ready-1']);
    expect(await hostnames('admin', '?hostname=bob-1')).toEqual(['bob-1']);
    expect(await hostnames('admin', '?limit=2&offset=1')).toEqual(['alice-locked', 'bob-1']);
    expect(await hostnames('admin', '?offset=3')).toEqual(['ready-1']);
  });

  it('gets a machine, with its owner by name', async () => {
    const res = await call('GET', `/api/v1/machines/${mine.id}`, { as: 'alice' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: mine.id, status: 'allocated', owner: 'alice' });
    const other = await call('GET', `/api/v1/machines/${ready.id}`, { as: 'bob' });
    expect(other.status).toBe(200);
  });

  it('patches a machine (admin)', async () => {
    const res = await call('PATCH', `/api/v1/machines/${ready.id}`, {
      json: { tags: ['ssd', 'gpu'], zone: 'rack-b', cpu_count: 64 },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      tags: ['gpu', 'ssd'],
      zone: 'rack-b',
      cpu_count: 64,
      hostname: 'ready-1',
      version: ready.version + 1,
    });
    const [audit] = (await f.store.listEvents({ machineId: ready.id })).filter(
      (e) => e.step === 'update',
    );
    expect(audit?.message).toBe('Updated cpuCount, tags, zone');
  });

  it('allocates by constraints, then answers 409 when none is left', async () => {
    const res = await call('POST', '/api/v1/machines/allocate', {
      as: 'bob',
      json: { arch: 'amd64', cpu_count: 4, mem: 8_192 },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: ready.id, status: 'allocated', owner: 'bob' });
    const none = await call('POST', '/api/v1/machines/allocate', { as: 'bob', json: {} });
    expect(none.status).toBe(409);
    expect(await json(none)).toMatchObject({ type: `${PROBLEMS}no-match` });
  });

  it('refuses to deploy an image nobody imported (400), changing nothing', async () => {
    const before = await snapshotStore(f.store);
    const res = await call('POST', `/api/v1/machines/${mine.id}/deploy`, {
      as: 'alice',
      json: { os: 'debian', release: 'trixie' },
    });
    expect(res.status).toBe(400);
    expect((await json<{ detail: string }>(res)).detail).toContain('no image debian/trixie/amd64');
    expect(await snapshotStore(f.store)).toEqual(before);
  });

  it('deploys (202) and queues the rack’s commands; the events show the timeline', async () => {
    const res = await call('POST', `/api/v1/machines/${mine.id}/deploy`, {
      as: 'alice',
      json: { os: 'debian', release: 'bookworm', user_data: '#cloud-config\n' },
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toMatchObject({
      status: 'deploying',
      deployment: { os: 'debian', release: 'bookworm', has_user_data: true, ephemeral: false },
      boot_purpose: 'install',
    });
    expect((await f.store.pendingRackCommands(rack.id)).map((c) => c.body.kind)).toEqual([
      'boot-plan',
      'power',
    ]);
    expect(f.notifier.calls).toEqual([rack.id]);

    await f.racks.recordEvents(rack.id, [
      rackStep(mine.id, 'power.on'),
      rackStep(mine.id, 'deployed'),
    ]);
    const events = await call('GET', `/api/v1/machines/${mine.id}/events`, { as: 'alice' });
    expect(events.status).toBe(200);
    const timeline = await json<{ kind: string; step: string; seq: number }[]>(events);
    expect(timeline.map((e) => `${e.kind}:${e.step}`)).toEqual([
      'transition:create',
      'transition:allocate',
      'transition:deploy',
      'step:power.on',
      'step:deployed',
      'transition:deployed',
    ]);
    const after = timeline[2]?.seq ?? 0;
    const later = await call('GET', `/api/v1/machines/${mine.id}/events?after=${after}&limit=2`, {
      as: 'alice',
    });
    expect((await json<{ step: string }[]>(later)).map((e) => e.step)).toEqual([
      'power.on',
      'deployed',
    ]);
  });

  it('runs comment actions with or without a body', async () => {
    const released = await call('POST', `/api/v1/machines/${mine.id}/release`, {
      as: 'alice',
      json: { comment: 'done with it' },
    });
    expect(released.status).toBe(200);
    expect(await json(released)).toMatchObject({
      status: 'ready',
      status_message: 'Released: done with it',
    });
    const broken = await call('POST', `/api/v1/machines/${ready.id}/mark-broken`);
    expect(await json(broken)).toMatchObject({ status: 'broken', status_message: 'Marked broken' });
    const fixed = await call('POST', `/api/v1/machines/${ready.id}/mark-fixed`);
    expect(await json(fixed)).toMatchObject({ status: 'ready' });
  });

  it('locks and unlocks', async () => {
    const lock = await call('POST', `/api/v1/machines/${mine.id}/lock`, { as: 'alice' });
    expect(lock.status).toBe(200);
    expect(await json(lock)).toMatchObject({ locked: true });
    const deploy = await call('POST', `/api/v1/machines/${mine.id}/deploy`, {
      as: 'alice',
      json: {},
    });
    expect(deploy.status).toBe(409);
    expect(await json(deploy)).toMatchObject({ type: `${PROBLEMS}locked` });
    const unlock = await call('POST', `/api/v1/machines/${mine.id}/unlock`, { as: 'alice' });
    expect(await json(unlock)).toMatchObject({ locked: false });
    const again = await call('POST', `/api/v1/machines/${mine.id}/deploy`, {
      as: 'alice',
      json: {},
    });
    expect(again.status).toBe(202);
  });

  it('queues power commands and reports the last observed state', async () => {
    const res = await call('POST', `/api/v1/machines/${mine.id}/power`, {
      as: 'alice',
      json: { action: 'cycle' },
    });
    expect(res.status).toBe(202);
    const state = await call('GET', `/api/v1/machines/${mine.id}/power`, { as: 'alice' });
    expect(await json(state)).toEqual({ state: 'unknown', seen_at: null, type: null });
  });

  it('deletes a machine', async () => {
    const res = await call('DELETE', `/api/v1/machines/${ready.id}`);
    expect(res.status).toBe(204);
    expect(await f.store.getMachine(ready.id)).toBeUndefined();
  });

  it('lists events: everything for admins, visible machines only for users', async () => {
    const bobs = await f.allocatedMachine(bob);
    const all = await json<{ machine_id: string | null }[]>(
      await call('GET', '/api/v1/events?limit=1000'),
    );
    expect(all.some((e) => e.machine_id === bobs.id)).toBe(true);
    expect(all.some((e) => e.machine_id === null)).toBe(true);
    const alices = await json<{ machine_id: string | null }[]>(
      await call('GET', '/api/v1/events', { as: 'alice' }),
    );
    const visible = new Set([mine.id, locked.id, ready.id]);
    expect(alices.length).toBeGreaterThan(0);
    expect(alices.every((e) => e.machine_id !== null && visible.has(e.machine_id))).toBe(true);
  });

  it('pages a user through the events they may see, however many others there are', async () => {
    // Events about no machine, which a user may not see, ahead of the user's own.
    for (let i = 0; i < 30; i++) await f.racks.createEnrollmentToken(f.admin.actor);
    await call('POST', `/api/v1/machines/${mine.id}/lock`, { as: 'alice' });
    await call('POST', `/api/v1/machines/${mine.id}/unlock`, { as: 'alice' });
    const everything = await json<{ seq: number }[]>(
      await call('GET', '/api/v1/events', { as: 'alice' }),
    );
    const page = async (query: string): Promise<number[]> =>
      (
        await json<{ seq: number }[]>(await call('GET', `/api/v1/events?${query}`, { as: 'alice' }))
      ).map((e) => e.seq);
    const first = await page('limit=3');
    expect(first).toEqual(everything.slice(0, 3).map((e) => e.seq));
    const rest = await page(`after=${first.at(-1) ?? 0}&limit=${everything.length}`);
    expect([...first, ...rest]).toEqual(everything.map((e) => e.seq));
    const tail = await page(`after=${(await page('limit=1000')).at(-3) ?? 0}&limit=1`);
    expect(tail).toEqual(everything.slice(-2, -1).map((e) => e.seq));
  });

  it('lists racks with their status', async () => {
    const res = await call('GET', '/api/v1/racks', { as: 'alice' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject([
      { id: rack.id, name: 'rack-1', status: 'disconnected' },
    ]);
    const token = await call('POST', '/api/v1/racks/enroll-tokens');
    expect(token.status).toBe(201);
    expect(await json(token)).toMatchObject({
      token: expect.stringMatching(/^ingot-enroll-/) as unknown,
    });
  });

  it('lists and creates users; a new user’s key works at once', async () => {
    const listed = await json<{ username: string }[]>(await call('GET', '/api/v1/users'));
    expect(listed.map((u) => u.username)).toEqual(['admin', 'alice', 'bob']);
    const self = await json<{ username: string }[]>(
      await call('GET', '/api/v1/users', { as: 'alice' }),
    );
    expect(self.map((u) => u.username)).toEqual(['alice']);

    const created = await call('POST', '/api/v1/users', { json: { username: 'carol' } });
    expect(created.status).toBe(201);
    const carol = await json<{ role: string; api_key: string }>(created);
    expect(carol.role).toBe('user');
    const me = await api.request('/api/v1/users/me', {
      headers: { authorization: `Bearer ${carol.api_key}` },
    });
    expect(await json(me)).toMatchObject({ username: 'carol', role: 'user' });
  });
});

describe('GET /api/v1/openapi.json', () => {
  // DESIGN.md §9, less what this controller does not serve yet (images, subnets).
  const expected: Record<string, string[]> = {
    '/api/v1/machines': ['get', 'post'],
    '/api/v1/machines/{id}': ['get', 'patch', 'delete'],
    '/api/v1/machines/allocate': ['post'],
    '/api/v1/machines/{id}/deploy': ['post'],
    '/api/v1/machines/{id}/release': ['post'],
    '/api/v1/machines/{id}/commission': ['post'],
    '/api/v1/machines/{id}/abort': ['post'],
    '/api/v1/machines/{id}/mark-broken': ['post'],
    '/api/v1/machines/{id}/mark-fixed': ['post'],
    '/api/v1/machines/{id}/lock': ['post'],
    '/api/v1/machines/{id}/unlock': ['post'],
    '/api/v1/machines/{id}/power': ['get', 'post'],
    '/api/v1/machines/{id}/events': ['get'],
    '/api/v1/events': ['get'],
    '/api/v1/racks': ['get'],
    '/api/v1/users': ['get', 'post'],
  };

  it('is valid JSON without a key, and documents every path of DESIGN.md §9 served here', async () => {
    const res = await call('GET', '/api/v1/openapi.json', { as: 'none' });
    expect(res.status).toBe(200);
    const doc = JSON.parse(await res.text()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(
        expect.arrayContaining(methods) as unknown,
      );
    }
  });
});
