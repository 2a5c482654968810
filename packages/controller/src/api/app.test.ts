import { describe, expect, it } from 'vitest';
import { rackStep, readJson, snapshotStore, uniqueMac } from '../testing/index.ts';
import { useMachineApiScenario, type As } from '../testing/use-machine-api-scenario.ts';

const PROBLEMS = 'https://ingot.dev/problems/';

const s = useMachineApiScenario({ maxBodyBytes: 4_096 });

describe('happy paths', () => {
  it('creates a machine: ready without commissioning, secrets never shown', async () => {
    const mac = '52:54:00:12:34:56';
    const res = await s.call('POST', '/api/v1/machines', {
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
      created_at: new Date(s.f.clock.now()).toISOString(),
    });
    expect((await s.f.store.getMachineByMac(mac))?.status).toBe('ready');
  });

  it('creates a machine to commission as new when it has no power settings', async () => {
    const res = await s.call('POST', '/api/v1/machines', { json: { macs: [uniqueMac()] } });
    expect(res.status).toBe(201);
    expect(await readJson(res)).toMatchObject({ status: 'new', arch: 'amd64' });
  });

  it('lists what each user may see, with filters and paging', async () => {
    const bobs = await s.f.allocatedMachine(s.bob, { hostname: 'bob-1' });
    const hostnames = async (as: As, query = ''): Promise<string[]> => {
      const res = await s.call('GET', `/api/v1/machines${query}`, { as });
      expect(res.status).toBe(200);
      return (await readJson<{ hostname: string }[]>(res)).map((m) => m.hostname);
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
    const res = await s.call('GET', `/api/v1/machines/${s.mine.id}`, { as: 'alice' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      id: s.mine.id,
      status: 'allocated',
      owner: 'alice',
    });
    const other = await s.call('GET', `/api/v1/machines/${s.ready.id}`, { as: 'bob' });
    expect(other.status).toBe(200);
  });

  it('patches a machine (admin)', async () => {
    const res = await s.call('PATCH', `/api/v1/machines/${s.ready.id}`, {
      json: { tags: ['ssd', 'gpu'], zone: 'rack-b', cpu_count: 64 },
    });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      tags: ['gpu', 'ssd'],
      zone: 'rack-b',
      cpu_count: 64,
      hostname: 'ready-1',
      version: s.ready.version + 1,
    });
    const [audit] = (await s.f.store.listEvents({ machineId: s.ready.id })).filter(
      (e) => e.step === 'update',
    );
    expect(audit?.message).toBe('Updated cpuCount, tags, zone');
  });

  it('allocates by constraints, then answers 409 when none is left', async () => {
    const res = await s.call('POST', '/api/v1/machines/allocate', {
      as: 'bob',
      json: { arch: 'amd64', cpu_count: 4, mem: 8_192 },
    });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      id: s.ready.id,
      status: 'allocated',
      owner: 'bob',
    });
    const none = await s.call('POST', '/api/v1/machines/allocate', { as: 'bob', json: {} });
    expect(none.status).toBe(409);
    expect(await readJson(none)).toMatchObject({ type: `${PROBLEMS}no-match` });
  });

  it('refuses to deploy an image nobody imported (400), changing nothing', async () => {
    const before = await snapshotStore(s.f.store);
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: { os: 'debian', release: 'trixie' },
    });
    expect(res.status).toBe(400);
    expect((await readJson<{ detail: string }>(res)).detail).toContain(
      'no image debian/trixie/amd64',
    );
    expect(await snapshotStore(s.f.store)).toEqual(before);
  });

  it('deploys (202) and queues the rack’s commands; the events show the timeline', async () => {
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: { os: 'debian', release: 'bookworm', user_data: '#cloud-config\n' },
    });
    expect(res.status).toBe(202);
    expect(await readJson(res)).toMatchObject({
      status: 'deploying',
      deployment: { os: 'debian', release: 'bookworm', has_user_data: true, ephemeral: false },
      boot_purpose: 'install',
    });
    expect((await s.f.store.pendingRackCommands(s.rack.id)).map((c) => c.body.kind)).toEqual([
      'boot-plan',
      'power',
    ]);
    expect(s.f.notifier.calls).toEqual([s.rack.id]);

    await s.f.racks.recordEvents(s.rack.id, [
      rackStep(s.mine.id, 'power.on'),
      rackStep(s.mine.id, 'deployed'),
    ]);
    const events = await s.call('GET', `/api/v1/machines/${s.mine.id}/events`, { as: 'alice' });
    expect(events.status).toBe(200);
    const timeline = await readJson<{ kind: string; step: string; seq: number }[]>(events);
    expect(timeline.map((e) => `${e.kind}:${e.step}`)).toEqual([
      'transition:create',
      'transition:allocate',
      'transition:deploy',
      'step:power.on',
      'step:deployed',
      'transition:deployed',
    ]);
    const after = timeline[2]?.seq ?? 0;
    const later = await s.call(
      'GET',
      `/api/v1/machines/${s.mine.id}/events?after=${after}&limit=2`,
      {
        as: 'alice',
      },
    );
    expect((await readJson<{ step: string }[]>(later)).map((e) => e.step)).toEqual([
      'power.on',
      'deployed',
    ]);
  });

  it('runs comment actions with or without a body', async () => {
    const released = await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, {
      as: 'alice',
      json: { comment: 'done with it' },
    });
    expect(released.status).toBe(200);
    expect(await readJson(released)).toMatchObject({
      status: 'ready',
      status_message: 'Released: done with it',
    });
    const broken = await s.call('POST', `/api/v1/machines/${s.ready.id}/mark-broken`);
    expect(await readJson(broken)).toMatchObject({
      status: 'broken',
      status_message: 'Marked broken',
    });
    const fixed = await s.call('POST', `/api/v1/machines/${s.ready.id}/mark-fixed`);
    expect(await readJson(fixed)).toMatchObject({ status: 'ready' });
  });

  it('locks and unlocks', async () => {
    const lock = await s.call('POST', `/api/v1/machines/${s.mine.id}/lock`, { as: 'alice' });
    expect(lock.status).toBe(200);
    expect(await readJson(lock)).toMatchObject({ locked: true });
    const deploy = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: {},
    });
    expect(deploy.status).toBe(409);
    expect(await readJson(deploy)).toMatchObject({ type: `${PROBLEMS}locked` });
    const unlock = await s.call('POST', `/api/v1/machines/${s.mine.id}/unlock`, { as: 'alice' });
    expect(await readJson(unlock)).toMatchObject({ locked: false });
    const again = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: {},
    });
    expect(again.status).toBe(202);
  });

  it('queues power commands and reports the last observed state', async () => {
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/power`, {
      as: 'alice',
      json: { action: 'cycle' },
    });
    expect(res.status).toBe(202);
    const state = await s.call('GET', `/api/v1/machines/${s.mine.id}/power`, { as: 'alice' });
    expect(await readJson(state)).toEqual({ state: 'unknown', seen_at: null, type: null });
  });

  it('deletes a machine', async () => {
    const res = await s.call('DELETE', `/api/v1/machines/${s.ready.id}`);
    expect(res.status).toBe(204);
    expect(await s.f.store.getMachine(s.ready.id)).toBeUndefined();
  });

  it('lists events: everything for admins, visible machines only for users', async () => {
    const bobs = await s.f.allocatedMachine(s.bob);
    const all = await readJson<{ machine_id: string | null }[]>(
      await s.call('GET', '/api/v1/events?limit=1000'),
    );
    expect(all.some((e) => e.machine_id === bobs.id)).toBe(true);
    expect(all.some((e) => e.machine_id === null)).toBe(true);
    const alices = await readJson<{ machine_id: string | null }[]>(
      await s.call('GET', '/api/v1/events', { as: 'alice' }),
    );
    const visible = new Set([s.mine.id, s.locked.id, s.ready.id]);
    expect(alices.length).toBeGreaterThan(0);
    expect(alices.every((e) => e.machine_id !== null && visible.has(e.machine_id))).toBe(true);
  });

  it('pages a user through the events they may see, however many others there are', async () => {
    // Events about no machine, which a user may not see, ahead of the user's own.
    for (let i = 0; i < 30; i++) await s.f.racks.createEnrollmentToken(s.f.admin.actor);
    await s.call('POST', `/api/v1/machines/${s.mine.id}/lock`, { as: 'alice' });
    await s.call('POST', `/api/v1/machines/${s.mine.id}/unlock`, { as: 'alice' });
    const everything = await readJson<{ seq: number }[]>(
      await s.call('GET', '/api/v1/events', { as: 'alice' }),
    );
    const page = async (query: string): Promise<number[]> =>
      (
        await readJson<{ seq: number }[]>(
          await s.call('GET', `/api/v1/events?${query}`, { as: 'alice' }),
        )
      ).map((e) => e.seq);
    const first = await page('limit=3');
    expect(first).toEqual(everything.slice(0, 3).map((e) => e.seq));
    const rest = await page(`after=${first.at(-1) ?? 0}&limit=${everything.length}`);
    expect([...first, ...rest]).toEqual(everything.map((e) => e.seq));
    const tail = await page(`after=${(await page('limit=1000')).at(-3) ?? 0}&limit=1`);
    expect(tail).toEqual(everything.slice(-2, -1).map((e) => e.seq));
  });

  it('lists racks with their status', async () => {
    const res = await s.call('GET', '/api/v1/racks', { as: 'alice' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject([
      { id: s.rack.id, name: 'rack-1', status: 'disconnected' },
    ]);
    const token = await s.call('POST', '/api/v1/racks/enroll-tokens');
    expect(token.status).toBe(201);
    expect(await readJson(token)).toMatchObject({
      token: expect.stringMatching(/^ingot-enroll-/) as unknown,
    });
  });

  it('lists and creates users; a new user’s key works at once', async () => {
    const listed = await readJson<{ username: string }[]>(await s.call('GET', '/api/v1/users'));
    expect(listed.map((u) => u.username)).toEqual(['admin', 'alice', 'bob']);
    const self = await readJson<{ username: string }[]>(
      await s.call('GET', '/api/v1/users', { as: 'alice' }),
    );
    expect(self.map((u) => u.username)).toEqual(['alice']);

    const created = await s.call('POST', '/api/v1/users', { json: { username: 'carol' } });
    expect(created.status).toBe(201);
    const carol = await readJson<{ role: string; api_key: string }>(created);
    expect(carol.role).toBe('user');
    const me = await s.api.request('/api/v1/users/me', {
      headers: { authorization: `Bearer ${carol.api_key}` },
    });
    expect(await readJson(me)).toMatchObject({ username: 'carol', role: 'user' });
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
    const res = await s.call('GET', '/api/v1/openapi.json', { as: 'none' });
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
