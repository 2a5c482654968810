import { describe, expect, it } from 'vitest';
import { readJson, snapshotStore, uniqueMac } from '../testing/index.ts';
import { useMachineApiScenario, type Call } from '../testing/use-machine-api-scenario.ts';

const MAX_BODY_BYTES = 4_096;
const PROBLEMS = 'https://ingot.dev/problems/';

const s = useMachineApiScenario({ maxBodyBytes: MAX_BODY_BYTES });

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
      path: () => `${M}/${s.mine.id}/deploy`,
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
      path: () => `${M}/${s.ready.id}`,
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
      path: () => `${M}/${s.ready.id}`,
      json: { hostname: '-leading-hyphen' },
      status: 400,
    },
    'a change to an unknown rack': {
      method: 'PATCH',
      path: () => `${M}/${s.ready.id}`,
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
      path: () => `${M}/${s.mine.id}/power`,
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
      path: () => `${M}/${s.ready.id}/deploy`,
      json: {},
      status: 409,
      type: 'invalid-transition',
    },
    'an action on a locked machine': {
      method: 'POST',
      path: () => `${M}/${s.locked.id}/release`,
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
      json: () => ({ macs: [...s.mine.macs] }),
      status: 409,
      type: 'conflict',
    },
    'a hostname another machine has': {
      method: 'PATCH',
      path: () => `${M}/${s.ready.id}`,
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
      path: () => `${M}/${s.mine.id}`,
      as: 'bob',
      status: 404,
      type: 'not-found',
    },
    'another user’s machine: deploy': {
      method: 'POST',
      path: () => `${M}/${s.mine.id}/deploy`,
      as: 'bob',
      json: {},
      status: [403, 404],
    },
    'another user’s machine: release': {
      method: 'POST',
      path: () => `${M}/${s.mine.id}/release`,
      as: 'bob',
      status: [403, 404],
    },
    'another user’s machine: lock': {
      method: 'POST',
      path: () => `${M}/${s.mine.id}/lock`,
      as: 'bob',
      status: [403, 404],
    },
    'another user’s machine: events': {
      method: 'GET',
      path: () => `${M}/${s.mine.id}/events`,
      as: 'bob',
      status: 404,
    },
    'another user’s machine: events by query': {
      method: 'GET',
      path: () => `/api/v1/events?machine=${s.mine.id}`,
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
      path: () => `${M}/${s.mine.id}`,
      as: 'alice',
      json: { zone: 'mine' },
      status: 403,
    },
    'a non-admin deleting a machine': {
      method: 'DELETE',
      path: () => `${M}/${s.mine.id}`,
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
    // (GET on a path outside the API is the web UI's: a client route answered with its page.)
    'an unknown route outside the API': {
      method: 'POST',
      path: () => '/nope',
      as: 'none',
      status: 404,
    },
    'a method the route does not have': { method: 'PUT', path: () => M, json: {}, status: 404 },
  };

  it.each(Object.entries(cases))('%s', async (_, c) => {
    const before = await snapshotStore(s.f.store);
    const res = await s.call(c.method, c.path(), {
      ...c,
      json: typeof c.json === 'function' ? (c.json as () => unknown)() : c.json,
    });

    expect([c.status].flat()).toContain(res.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await readJson(res);
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
    expect(await snapshotStore(s.f.store)).toEqual(before);
  });

  it('names the allowed actions in an invalid-transition problem', async () => {
    const res = await s.call('POST', `/api/v1/machines/${s.ready.id}/deploy`, { json: {} });
    expect(await readJson(res)).toEqual({
      type: `${PROBLEMS}invalid-transition`,
      title: 'Action not allowed in this status',
      status: 409,
      detail: `machine ${s.ready.id} is ready: deploy is not allowed (allowed: commission, allocate, mark_broken)`,
      status_name: 'ready',
      action: 'deploy',
      allowed: ['commission', 'allocate', 'mark_broken'],
    });
  });

  it('lists each invalid field in a validation problem', async () => {
    const res = await s.call('POST', '/api/v1/machines', {
      json: { macs: 'x', cpu_count: 'four' },
    });
    const body = await readJson<{ errors: { path: string }[] }>(res);
    expect(body.errors.map((e) => e.path).sort()).toEqual(['cpu_count', 'macs']);
  });
});
