/**
 * Every state-changing operation of the REST API leaves an event naming who did it. The
 * operations come from the API's own OpenAPI document, so a new endpoint without a case here (or
 * without an event) turns this red. Each case sends one valid request and checks that the events
 * it stored include one by the caller (audit, transition or power), and that none holds a secret
 * the request or its response carried.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, readJson } from '../testing/index.ts';
import { createServiceFixture } from '../testing/service-fixture.ts';
import { createTestApi } from '../testing/create-test-api.ts';
import { maasRequest } from './maas/maas-test-client.ts';
import {
  useMachineApiScenario,
  type As,
  type MachineApiScenario,
} from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();

/** One valid request of an operation, after `setup` (which may return path ids). */
interface AuditCase {
  readonly as?: 'admin' | 'alice';
  /** Builds the request; may prepare state first. */
  readonly request: (s: MachineApiScenario) => Promise<{
    path: string;
    json?: unknown;
    raw?: { body: Uint8Array<ArrayBuffer>; contentType: string };
    /** An Authorization header other than `as`'s key. */
    authorization?: string;
  }>;
  /** The event step expected (an audit step, or the lifecycle action). */
  readonly step: string | RegExp;
}

const PASSWORD = 'correct horse battery staple';
const FILE_BYTES = new TextEncoder().encode('an image file uploaded in the audit test\n');
const FILE_SHA = createHash('sha256').update(FILE_BYTES).digest('hex');

async function signIn(s: MachineApiScenario): Promise<string> {
  const set = await s.call('PUT', '/api/v1/users/alice/password', { json: { password: PASSWORD } });
  expect(set.status).toBe(204);
  const res = await s.call('POST', '/api/v1/sessions', {
    as: 'none',
    json: { username: 'alice', password: PASSWORD },
  });
  expect(res.status).toBe(201);
  return String((await readJson(res)).api_key);
}

async function subnet(s: MachineApiScenario): Promise<string> {
  const res = await s.call('POST', '/api/v1/subnets', {
    json: { cidr: '10.77.0.0/24', dynamic_ranges: [{ start: '10.77.0.50', end: '10.77.0.99' }] },
  });
  expect(res.status).toBe(201);
  return String((await readJson(res)).id);
}

const machine = (id: (s: MachineApiScenario) => string, action: string) => ({
  request: (t: MachineApiScenario) =>
    Promise.resolve({ path: `/api/v1/machines/${id(t)}/${action}` }),
});

/** Keyed by `METHOD /path` exactly as in openapi.json. */
const CASES: Record<string, AuditCase> = {
  'POST /api/v1/machines': {
    request: () =>
      Promise.resolve({
        path: '/api/v1/machines',
        json: { hostname: 'audit-1', macs: ['52:54:00:aa:00:01'], commission: false },
      }),
    step: /create|ready/,
  },
  'POST /api/v1/machines/allocate': {
    as: 'alice',
    request: () => Promise.resolve({ path: '/api/v1/machines/allocate', json: {} }),
    step: 'allocate',
  },
  'PATCH /api/v1/machines/{id}': {
    request: (t) =>
      Promise.resolve({ path: `/api/v1/machines/${t.ready.id}`, json: { zone: 'z2' } }),
    step: 'update',
  },
  'DELETE /api/v1/machines/{id}': {
    request: (t) => Promise.resolve({ path: `/api/v1/machines/${t.ready.id}` }),
    step: 'delete',
  },
  'POST /api/v1/machines/{id}/deploy': {
    as: 'alice',
    request: (t) =>
      Promise.resolve({
        path: `/api/v1/machines/${t.mine.id}/deploy`,
        json: { os: 'debian', release: 'bookworm', user_data: 'I2Nsb3VkLWNvbmZpZw==' },
      }),
    step: 'deploy',
  },
  'POST /api/v1/machines/{id}/release': {
    as: 'alice',
    request: (t) => Promise.resolve({ path: `/api/v1/machines/${t.mine.id}/release`, json: {} }),
    step: 'release',
  },
  'POST /api/v1/machines/{id}/power': {
    as: 'alice',
    request: (t) =>
      Promise.resolve({ path: `/api/v1/machines/${t.mine.id}/power`, json: { action: 'on' } }),
    step: 'power.request',
  },
  'POST /api/v1/machines/{id}/commission': {
    ...machine((t) => t.ready.id, 'commission'),
    step: 'commission',
  },
  'POST /api/v1/machines/{id}/abort': {
    request: async (t) => {
      const r = await t.call('POST', `/api/v1/machines/${t.ready.id}/commission`, { json: {} });
      expect(r.status).toBe(200);
      return { path: `/api/v1/machines/${t.ready.id}/abort` };
    },
    step: 'abort',
  },
  'POST /api/v1/machines/{id}/mark-broken': {
    ...machine((t) => t.ready.id, 'mark-broken'),
    step: 'mark_broken',
  },
  'POST /api/v1/machines/{id}/mark-fixed': {
    request: async (t) => {
      const r = await t.call('POST', `/api/v1/machines/${t.ready.id}/mark-broken`, { json: {} });
      expect(r.status).toBe(200);
      return { path: `/api/v1/machines/${t.ready.id}/mark-fixed` };
    },
    step: 'mark_fixed',
  },
  'POST /api/v1/machines/{id}/lock': {
    ...machine((t) => t.mine.id, 'lock'),
    as: 'alice',
    step: 'lock',
  },
  'POST /api/v1/machines/{id}/unlock': {
    ...machine((t) => t.locked.id, 'unlock'),
    as: 'alice',
    step: 'unlock',
  },
  'POST /api/v1/racks/enroll-tokens': {
    request: () => Promise.resolve({ path: '/api/v1/racks/enroll-tokens' }),
    step: 'rack.enroll-token',
  },
  'POST /api/v1/racks/{id}/revoke': {
    request: (t) => Promise.resolve({ path: `/api/v1/racks/${t.rack.id}/revoke` }),
    step: 'rack.revoke',
  },
  'POST /api/v1/users': {
    request: () =>
      Promise.resolve({ path: '/api/v1/users', json: { username: 'carol', role: 'user' } }),
    step: 'user.create',
  },
  'POST /api/v1/subnets': {
    request: () =>
      Promise.resolve({
        path: '/api/v1/subnets',
        json: {
          cidr: '10.78.0.0/24',
          dynamic_ranges: [{ start: '10.78.0.50', end: '10.78.0.99' }],
        },
      }),
    step: 'subnet.create',
  },
  'PATCH /api/v1/subnets/{id}': {
    request: async (t) => ({ path: `/api/v1/subnets/${await subnet(t)}`, json: { name: 'dmz' } }),
    step: 'subnet.update',
  },
  'DELETE /api/v1/subnets/{id}': {
    request: async (t) => ({ path: `/api/v1/subnets/${await subnet(t)}` }),
    step: 'subnet.delete',
  },
  'POST /api/v1/subnets/{id}/reservations': {
    request: async (t) => ({
      path: `/api/v1/subnets/${await subnet(t)}/reservations`,
      json: { mac: '52:54:00:aa:00:02', ip: '10.77.0.20' },
    }),
    step: /reserv/,
  },
  'DELETE /api/v1/subnets/{id}/reservations/{mac}': {
    request: async (t) => {
      const id = await subnet(t);
      const r = await t.call('POST', `/api/v1/subnets/${id}/reservations`, {
        json: { mac: '52:54:00:aa:00:03', ip: '10.77.0.21' },
      });
      expect(r.status).toBe(201);
      return { path: `/api/v1/subnets/${id}/reservations/52:54:00:aa:00:03` };
    },
    step: /reserv/,
  },
  'POST /api/v1/images': {
    request: () =>
      Promise.resolve({
        path: '/api/v1/images',
        json: {
          os: 'debian',
          release: 'trixie',
          files: DEFAULT_IMAGE.files.map((f) => ({
            role: f.role,
            sha256: f.sha256,
            size_bytes: f.sizeBytes,
            name: f.name,
          })),
        },
      }),
    step: 'image.create',
  },
  'DELETE /api/v1/images/{id}': {
    request: async (t) => {
      const [image] = await t.f.store.listBootResources();
      return { path: `/api/v1/images/${image?.id ?? 'none'}` };
    },
    step: 'image.delete',
  },
  'PUT /api/v1/images/files/{sha256}': {
    request: () =>
      Promise.resolve({
        path: `/api/v1/images/files/${FILE_SHA}`,
        raw: { body: FILE_BYTES, contentType: 'application/octet-stream' },
      }),
    step: 'image.file',
  },
  'POST /api/v1/users/me/ssh-keys': {
    as: 'alice',
    request: () =>
      Promise.resolve({
        path: '/api/v1/users/me/ssh-keys',
        json: {
          key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbBvJ3R0iFh1vwm6U1bdqH6l2B9pVj8i7YQxw2tTQ+a audit',
        },
      }),
    step: 'user.ssh-key.add',
  },
  'DELETE /api/v1/users/me/ssh-keys/{id}': {
    as: 'alice',
    request: async (t) => {
      const r = await t.call('POST', '/api/v1/users/me/ssh-keys', {
        as: 'alice',
        json: {
          key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbBvJ3R0iFh1vwm6U1bdqH6l2B9pVj8i7YQxw2tTQ+a audit',
        },
      });
      expect(r.status).toBe(201);
      return { path: `/api/v1/users/me/ssh-keys/${String((await readJson(r)).id)}` };
    },
    step: 'user.ssh-key.remove',
  },
  'POST /api/v1/users/me/api-keys': {
    as: 'alice',
    request: () => Promise.resolve({ path: '/api/v1/users/me/api-keys', json: { name: 'ci' } }),
    step: 'user.api-key',
  },
  'POST /api/v1/sessions': {
    as: 'alice',
    request: async (t) => {
      await t.call('PUT', '/api/v1/users/alice/password', { json: { password: PASSWORD } });
      return {
        path: '/api/v1/sessions',
        json: { username: 'alice', password: PASSWORD },
        authorization: '',
      };
    },
    step: 'session.create',
  },
  'DELETE /api/v1/sessions/current': {
    as: 'alice',
    request: async (t) => ({
      path: '/api/v1/sessions/current',
      authorization: `Bearer ${await signIn(t)}`,
    }),
    step: 'session.delete',
  },
  'PUT /api/v1/users/{username}/password': {
    request: () =>
      Promise.resolve({ path: '/api/v1/users/alice/password', json: { password: PASSWORD } }),
    step: 'user.password',
  },
};

/** The non-GET operations of the served OpenAPI document. */
async function changingOperations(): Promise<string[]> {
  const f = await createServiceFixture();
  try {
    const res = await createTestApi(f).api.request('/api/v1/openapi.json');
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => !['get', 'head', 'options'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
  } finally {
    await f.close();
  }
}

const operations = await changingOperations();

/** Strings of the response body that look like secrets (keys, tokens). */
function secretsIn(value: unknown): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return [
    ...text.matchAll(/ingot_[a-z0-9]{12}_([A-Za-z0-9_-]{43})|ingot-enroll-([A-Za-z0-9_-]+)/g),
  ].map((m) => m[1] ?? m[2] ?? '');
}

describe('audit events for every state-changing operation', () => {
  it('has a case for every non-GET operation of openapi.json, and no stale ones', () => {
    expect(operations.length).toBeGreaterThan(25);
    expect(operations.filter((op) => CASES[op] === undefined)).toEqual([]);
    expect(Object.keys(CASES).filter((op) => !operations.includes(op))).toEqual([]);
  });

  it.each(operations)('%s stores an event naming the caller', async (operation) => {
    const c = CASES[operation];
    if (c === undefined) throw new Error(`no audit case for ${operation}`);
    const method = operation.split(' ')[0] ?? '';
    const as: As = c.as ?? 'admin';
    const req = await c.request(s);
    const before = (await s.f.store.listEvents({ limit: 100_000 })).at(-1)?.seq ?? 0;
    const key = as === 'admin' ? s.f.admin.apiKey : s.alice.apiKey;
    const headers: Record<string, string> = {};
    const auth = req.authorization ?? `Bearer ${key}`;
    if (auth !== '') headers.authorization = auth;
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    if (req.raw !== undefined) {
      body = req.raw.body;
      headers['content-type'] = req.raw.contentType;
    }
    const res = await s.api.request(req.path, { method, headers, body });
    const text = await res.text();
    expect(res.status, text).toBeLessThan(300);

    const events = (await s.f.store.listEvents({ limit: 100_000 })).filter((e) => e.seq > before);
    const actor = `user:${as === 'admin' ? 'admin' : 'alice'}`;
    const mine = events.filter((e) => e.actor === actor);
    expect(
      mine.some((e) => (typeof c.step === 'string' ? e.step === c.step : c.step.test(e.step))),
      `events: ${JSON.stringify(events.map((e) => [e.kind, e.step, e.actor]))}`,
    ).toBe(true);
    const stored = JSON.stringify(events);
    const secrets = [
      ...secretsIn(text),
      ...secretsIn(auth),
      PASSWORD,
      ...(req.json === undefined ? [] : secretsIn(req.json)),
    ].filter((x) => x.length >= 8);
    for (const secret of secrets) expect(stored).not.toContain(secret);
  });
});

describe('GET /api/v1/events?kind=audit', () => {
  it('lists only audit events — the audit trail — for admins', async () => {
    expect(
      (await s.call('POST', `/api/v1/machines/${s.ready.id}/mark-broken`, { json: {} })).status,
    ).toBe(200);
    expect((await s.call('POST', '/api/v1/racks/enroll-tokens')).status).toBe(201);
    const res = await s.call('GET', '/api/v1/events?kind=audit');
    expect(res.status).toBe(200);
    const events = await readJson<{ kind: string; step: string; actor: string }[]>(res);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.kind === 'audit')).toBe(true);
    expect(events.at(-1)).toMatchObject({ step: 'rack.enroll-token', actor: 'user:admin' });
    const both = await readJson<{ kind: string }[]>(
      await s.call('GET', '/api/v1/events?kind=audit,transition'),
    );
    expect(new Set(both.map((e) => e.kind))).toEqual(new Set(['audit', 'transition']));
    expect((await s.call('GET', '/api/v1/events?kind=secrets')).status).toBe(400);
  });
});

describe('audit events for MAAS API writes', () => {
  const maasCases: [string, (t: MachineApiScenario) => string, [string, string][], string][] = [
    [
      'allocate with agent_name',
      () => 'machines/?op=allocate',
      [
        ['name', 'ready-1'],
        ['agent_name', 'juju'],
      ],
      'notes.agent-name',
    ],
    [
      'set_owner_data',
      (t) => `machines/${t.mine.id}/?op=set_owner_data`,
      [['juju-model', 'm1']],
      'notes.owner-data',
    ],
    [
      'deploy',
      (t) => `machines/${t.mine.id}/?op=deploy`,
      [['distro_series', 'bookworm']],
      'deploy',
    ],
    ['release', (t) => `machines/${t.mine.id}/?op=release`, [], 'release'],
    ['power_on', (t) => `machines/${t.mine.id}/?op=power_on`, [], 'power.request'],
    ['lock', (t) => `machines/${t.mine.id}/?op=lock`, [], 'lock'],
  ];

  it.each(maasCases)('%s stores an event naming the caller', async (_name, path, form, step) => {
    const before = (await s.f.store.listEvents({ limit: 100_000 })).at(-1)?.seq ?? 0;
    const res = await maasRequest(s.api, 'POST', path(s), { key: s.alice.apiKey, form });
    expect(res.status, await res.clone().text()).toBe(200);
    const events = (await s.f.store.listEvents({ limit: 100_000 })).filter((e) => e.seq > before);
    expect(events.filter((e) => e.actor === 'user:alice').map((e) => e.step)).toContain(step);
  });
});
