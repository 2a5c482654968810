import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, readJson } from '../../testing/index.ts';
import { useMachineApiScenario } from '../../testing/use-machine-api-scenario.ts';
import * as schema from './client-schema.ts';
import { maasErrorFor } from './maas-error.ts';
import { maasRequest } from './maas-test-client.ts';

const s = useMachineApiScenario({ maxBodyBytes: 65_536 });

const post = (
  path: string,
  form: [string, string][] = [],
  key = s.alice.apiKey,
  multipart = false,
): Promise<Response> => maasRequest(s.api, 'POST', path, { key, form, multipart });

async function ok(res: Response): Promise<Record<string, unknown>> {
  expect(res.status).toBe(200);
  const body = await readJson(res);
  expect(schema.machine(body, 'machine')).toEqual([]);
  return body;
}

const USER_DATA = '#cloud-config\nruncmd: [echo hello from maas]\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('machines/{id}/?op=deploy', () => {
  it('deploys with distro_series, base64 user_data and hwe_kernel: Deploying', async () => {
    const body = await ok(
      await post(
        `machines/${s.mine.id}/?op=deploy`,
        [
          ['distro_series', 'bookworm'],
          ['user_data', b64(USER_DATA)],
          ['hwe_kernel', 'generic'],
        ],
        s.alice.apiKey,
        true,
      ),
    );
    expect(body).toMatchObject({
      status: 9,
      status_name: 'Deploying',
      osystem: 'debian',
      distro_series: 'bookworm',
    });
    const stored = await s.f.store.getMachine(s.mine.id);
    expect(stored?.deployment).toMatchObject({
      os: 'debian',
      release: 'bookworm',
      kernel: 'generic',
      userData: USER_DATA,
      ephemeral: false,
    });
  });

  it('deploys an image of os ingot by its release alone (the lab’s ingot/tiny)', async () => {
    const tiny = await s.f.images.create(s.f.admin.actor, {
      ...DEFAULT_IMAGE,
      os: 'ingot',
      release: 'tiny',
    });
    expect(tiny.ok).toBe(true);
    const body = await ok(
      await post(`machines/${s.mine.id}/?op=deploy`, [['distro_series', 'tiny']]),
    );
    expect(body).toMatchObject({ osystem: 'ingot', distro_series: 'tiny' });
  });

  it('deploys os/series in memory with ephemeral_deploy', async () => {
    await ok(
      await post(`machines/${s.mine.id}/?op=deploy`, [
        ['distro_series', 'debian/bookworm'],
        ['ephemeral_deploy', 'true'],
      ]),
    );
    expect((await s.f.store.getMachine(s.mine.id))?.deployment?.ephemeral).toBe(true);
  });

  it('deploys a Ready machine by allocating it to the caller first, as MAAS does', async () => {
    const body = await ok(await post(`machines/${s.ready.id}/?op=deploy`, [], s.bob.apiKey));
    expect(body).toMatchObject({ status_name: 'Deploying', owner: 'bob' });
  });

  it('refuses: not yours 403, wrong state 409, locked 409, bad input 400 — changing nothing', async () => {
    const deployed = await s.f.allocatedMachine(s.bob, { hostname: 'bobs' });
    const series: [string, string] = ['distro_series', 'bookworm'];
    const cases: [string, [string, string][], string, number][] = [
      [deployed.id, [series], s.alice.apiKey, 404],
      [deployed.id, [series], s.f.admin.apiKey, 200],
      [deployed.id, [series], s.bob.apiKey, 409],
      [s.locked.id, [series], s.alice.apiKey, 409],
      [s.mine.id, [['distro_series', 'trixie']], s.alice.apiKey, 400],
      [s.mine.id, [series, ['user_data', 'not base64!']], s.alice.apiKey, 400],
    ];
    for (const [id, form, key, status] of cases) {
      const res = await post(`machines/${id}/?op=deploy`, form, key);
      expect([id, res.status]).toEqual([id, status]);
      if (status !== 200) expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    }
    expect((await s.f.store.getMachine(s.mine.id))?.status).toBe('allocated');
    // An admin may act on bob's machine; alice may see it only as an owner would not.
    const alices = await post(`machines/${deployed.id}/?op=release`, [], s.alice.apiKey);
    expect(alices.status).toBe(404);
  });

  it('not yours but visible (unowned) is 403', async () => {
    const res = await post(`machines/${s.ready.id}/?op=power_on`, [], s.bob.apiKey);
    expect(res.status).toBe(403);
  });
});

describe('release', () => {
  it('releases one machine: Ready, owner gone; with erase: Disk erasing', async () => {
    expect(await ok(await post(`machines/${s.mine.id}/?op=release`))).toMatchObject({
      status_name: 'Ready',
      status: 4,
      owner: null,
    });
    const other = await s.f.allocatedMachine(s.alice, { hostname: 'wipe-me' });
    await ok(await post(`machines/${other.id}/?op=deploy`, [['distro_series', 'bookworm']]));
    const failed = await s.f.machines.act({ kind: 'system' }, other.id, 'deploy_failed', {
      message: 'install.image failed',
    });
    expect(failed.ok).toBe(true);
    const read = await maasRequest(s.api, 'GET', `machines/${other.id}/`, { key: s.alice.apiKey });
    expect(await ok(read)).toMatchObject({ status: 11, status_name: 'Failed deployment' });
    const erasing = await ok(
      await post(`machines/${other.id}/?op=release`, [
        ['erase', 'true'],
        ['quick_erase', 'true'],
      ]),
    );
    expect(erasing).toMatchObject({ status: 14, status_name: 'Disk erasing' });
    expect((await s.f.store.getMachine(other.id))?.deployment?.erase).toBe('quick');
  });

  it('releases several with repeated machines=, answering their ids', async () => {
    const second = await s.f.allocatedMachine(s.alice, { hostname: 'alice-2' });
    const res = await post('machines/?op=release', [
      ['machines', s.mine.id],
      ['machines', second.id],
    ]);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual([s.mine.id, second.id]);
    for (const id of [s.mine.id, second.id]) {
      expect((await s.f.store.getMachine(id))?.status).toBe('ready');
    }
  });

  it('machines/?op=release: unknown 400, not yours 403, wrong state 409', async () => {
    const unknown = await post('machines/?op=release', [
      ['machines', s.mine.id],
      ['machines', 'nosuch'],
    ]);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('nosuch');
    expect((await s.f.store.getMachine(s.mine.id))?.status).toBe('allocated');
    const notYours = await post('machines/?op=release', [['machines', s.ready.id]], s.bob.apiKey);
    expect(notYours.status).toBe(403);
    const wrongState = await post(
      'machines/?op=release',
      [['machines', s.ready.id]],
      s.f.admin.apiKey,
    );
    expect(wrongState.status).toBe(409);
    expect((await post('machines/?op=release', [])).status).toBe(400);
  });
});

describe('other ops', () => {
  it('power_on / power_off answer the machine; query_power_state the last state', async () => {
    s.f.notifier.clear();
    await ok(await post(`machines/${s.mine.id}/?op=power_on`));
    await ok(await post(`machines/${s.mine.id}/?op=power_off`));
    expect(s.f.notifier.calls).toHaveLength(2);
    const res = await maasRequest(s.api, 'GET', `machines/${s.mine.id}/?op=query_power_state`, {
      key: s.alice.apiKey,
    });
    expect(await readJson(res)).toEqual({ state: 'unknown' });
  });

  it('mark_broken → Broken; mark_fixed needs an admin; lock / unlock', async () => {
    expect(
      await ok(await post(`machines/${s.mine.id}/?op=mark_broken`, [['comment', 'bad RAM']])),
    ).toMatchObject({ status: 8, status_name: 'Broken' });
    expect((await post(`machines/${s.mine.id}/?op=mark_fixed`)).status).toBe(403);
    await ok(await post(`machines/${s.mine.id}/?op=mark_fixed`, [], s.f.admin.apiKey));
    expect(
      await ok(await post(`machines/${s.ready.id}/?op=lock`, [], s.f.admin.apiKey)),
    ).toMatchObject({
      locked: true,
    });
    expect((await post(`machines/${s.ready.id}/?op=lock`, [], s.f.admin.apiKey)).status).toBe(409);
    expect(
      await ok(await post(`machines/${s.ready.id}/?op=unlock`, [], s.f.admin.apiKey)),
    ).toMatchObject({
      locked: false,
    });
  });

  it('abort stops a deployment; abort on an allocated machine is 409', async () => {
    await ok(await post(`machines/${s.mine.id}/?op=deploy`, [['distro_series', 'bookworm']]));
    const aborted = await ok(await post(`machines/${s.mine.id}/?op=abort`));
    expect(aborted.status_name).not.toBe('Deploying');
    const other = await s.f.allocatedMachine(s.alice, { hostname: 'idle' });
    expect((await post(`machines/${other.id}/?op=abort`)).status).toBe(409);
  });

  it('dispatches on op: an unknown or missing op is 400 naming it', async () => {
    const res = await post(`machines/${s.mine.id}/?op=frobnicate`);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('Unrecognised signature: method=POST op=frobnicate');
    expect((await post('machines/?op=deploy')).status).toBe(400);
    expect((await post('machines/')).status).toBe(400);
    const get = await maasRequest(s.api, 'GET', 'machines/?op=allocate', { key: s.alice.apiKey });
    expect(get.status).toBe(400);
  });

  it('a write that lost a race is 503 with Retry-After; no rack is 503 without', () => {
    const stale = maasErrorFor({ kind: 'stale', machineId: 'm' });
    expect([stale.status, stale.headers['retry-after']]).toEqual([503, '1']);
    const noRack = maasErrorFor({ kind: 'no-rack', machineId: 'm', detail: 'none' });
    expect([noRack.status, noRack.headers['retry-after']]).toEqual([503, undefined]);
  });
});

describe('owner data and agent_name (kept with the allocation)', () => {
  const read = async (id: string): Promise<Record<string, unknown>> =>
    ok(await maasRequest(s.api, 'GET', `machines/${id}/`, { key: s.alice.apiKey }));
  const ids = async (query: string): Promise<string[]> => {
    const res = await maasRequest(s.api, 'GET', `machines/?${query}`, { key: s.alice.apiKey });
    return (await readJson<{ system_id: string }[]>(res)).map((m) => m.system_id);
  };

  it('set_owner_data sets keys, an empty value removes one; release forgets them', async () => {
    const set = await ok(
      await post(`machines/${s.mine.id}/?op=set_owner_data`, [
        ['juju-model-uuid', 'abc-123'],
        ['juju-is-controller', 'true'],
      ]),
    );
    expect(set.owner_data).toEqual({ 'juju-model-uuid': 'abc-123', 'juju-is-controller': 'true' });
    await ok(await post(`machines/${s.mine.id}/?op=set_owner_data`, [['juju-is-controller', '']]));
    expect((await read(s.mine.id)).owner_data).toEqual({ 'juju-model-uuid': 'abc-123' });
    await ok(await post(`machines/${s.mine.id}/?op=release`));
    expect((await read(s.mine.id)).owner_data).toEqual({});
  });

  it('set_owner_data: not yours 403, not allocated 409', async () => {
    const form: [string, string][] = [['k', 'v']];
    expect((await post(`machines/${s.ready.id}/?op=set_owner_data`, form)).status).toBe(403);
    const admin = await post(`machines/${s.ready.id}/?op=set_owner_data`, form, s.f.admin.apiKey);
    expect(admin.status).toBe(409);
  });

  it('allocate records agent_name; machines/?agent_name= finds it until release', async () => {
    const res = await post('machines/?op=allocate', [
      ['name', 'ready-1'],
      ['agent_name', 'model-7'],
    ]);
    expect(res.status).toBe(200);
    expect(await ids('agent_name=model-7')).toEqual([s.ready.id]);
    expect(await ids('agent_name=model-8')).toEqual([]);
    await ok(await post(`machines/${s.ready.id}/?op=release`));
    expect(await ids('agent_name=model-7')).toEqual([]);
  });
});
