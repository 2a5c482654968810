/**
 * Issue 8, fast and without a VM: Juju's MAAS library (gomaasapi, driven by test/maas-client)
 * against a real controller and rack agent on loopback, with machines created `ready` through
 * /api/v1 and a simulated machine reporting its deploy steps to the agent. Every response passes
 * through gomaasapi's own schema checks, so a field of the wrong JSON type fails here in seconds.
 * The lab VM cycle (a real disk deploy) is `maas.netns.e2e.test.ts`.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import {
  asMachine,
  buildMaasClient,
  maasApiKey,
  runMaasClient,
  type MaasRun,
  type MaasStep,
} from './harness/maas-client.ts';
import { waitFor } from './harness/processes.ts';
import {
  createReadyMachine,
  createUser,
  DEPLOY_STEPS,
  machineEvents,
  reportStep,
  startSite,
  type Site,
} from './harness/scenario.ts';

describe('a real MAAS client (gomaasapi) against the controller, no VM', () => {
  let site: Site;
  let binary: string;
  let userKey: string;
  let maasKey: string;
  let adminMaasKey: string;
  const machines: MachineJson[] = [];
  const client = (args: string[], key = maasKey, onStep?: (s: MaasStep) => void) =>
    runMaasClient(binary, { url: site.controller.url, key, args, timeoutMs: 120_000, onStep });

  beforeAll(async () => {
    binary = await buildMaasClient();
    site = await startSite();
    machines.push(
      await createReadyMachine(site, 1, { tags: ['gpu', 'ssd'], cpu_count: 8, memory_mib: 16384 }),
      await createReadyMachine(site, 2, { tags: ['ssd'], cpu_count: 2, memory_mib: 4096 }),
      await createReadyMachine(site, 3, {
        tags: ['gpu', 'flaky'],
        cpu_count: 16,
        memory_mib: 65536,
      }),
    );
    userKey = await createUser(site, 'juju');
    maasKey = await maasApiKey(site.controller.url, userKey);
    adminMaasKey = await maasApiKey(site.controller.url, site.controller.adminKey);
  }, 300_000);
  afterAll(async () => {
    await site.cleanup();
  });

  it('connects as Juju does and reads zones, pools, boot resources and tags', async () => {
    const run = await client(['inventory']);
    expect(run.failure, run.stderr).toBeUndefined();
    expect(run.code).toBe(0);
    expect(run.step('connect')['version']).toEqual(expect.any(String));
    expect(run.step('zones')['names']).toContain('default');
    expect(run.step('pools')['names']).toContain('default');
    const resources = run.step('boot-resources')['resources'] as { name: string }[];
    expect(resources.map((r) => r.name)).toContainEqual(expect.stringContaining('bookworm'));
    expect(run.step('tags')['names']).toEqual(expect.arrayContaining(['gpu', 'ssd', 'flaky']));
  });

  it("answers Juju's network discovery: spaces, fabrics, domains, static routes", async () => {
    const run = await client(['networks']);
    expect(run.failure, run.stderr).toBeUndefined();
    expect(run.step('spaces')['spaces']).toEqual(expect.any(Array));
    expect(run.step('fabrics')['fabrics']).toEqual(expect.any(Array));
    expect((run.step('domains')['names'] as string[]).length).toBeGreaterThan(0);
    expect(run.step('static-routes')['count']).toEqual(expect.any(Number));
  });

  it('refuses a key with a wrong secret: 401, which gomaasapi reports as a permission error', async () => {
    const [consumer, token] = maasKey.split(':');
    const run = await client(['inventory'], `${consumer}:${token}:not-the-secret`);
    expect(run.code).toBe(1);
    expect(run.failure).toMatchObject({ step: 'connect', kind: 'permission' });
  });

  it('lists machines, and only those asked for with repeated id=', async () => {
    const all = await client(['list'], adminMaasKey);
    expect(all.failure, all.stderr).toBeUndefined();
    const listed = all.step('list')['machines'] as { system_id: string; status_name: string }[];
    expect(listed.map((m) => m.system_id).sort()).toEqual(machines.map((m) => m.id).sort());
    expect(new Set(listed.map((m) => m.status_name))).toEqual(new Set(['Ready']));

    const [a, , c] = machines;
    const some = await client(['list', '-id', a?.id ?? '', '-id', c?.id ?? ''], adminMaasKey);
    const ids = (some.step('list')['machines'] as { system_id: string }[]).map((m) => m.system_id);
    expect(ids.sort()).toEqual([a?.id, c?.id].sort());
  });

  it('answers constraints nothing matches with 409, a no-match error for gomaasapi', async () => {
    const run = await client(['allocate', '-arch', 'amd64', '-cpu', '64']);
    expect(run.code).toBe(1);
    expect(run.failure).toMatchObject({ step: 'allocate', kind: 'no-match', http_status: 409 });
  });

  it('dry-run allocation answers with a match and leaves it Ready', async () => {
    const run = await client([
      'allocate',
      '-dry-run',
      '-tag',
      'ssd',
      '-not-tag',
      'gpu',
      '-cpu',
      '2',
      '-mem',
      '4096',
    ]);
    expect(run.failure, run.stderr).toBeUndefined();
    expect(asMachine(run.step('allocate')).system_id).toBe(machines[1]?.id);
    const read = await client(['read', '-id', machines[1]?.id ?? '']);
    expect(asMachine(read.step('read')).status_name).toBe('Ready');
  });

  it("keeps users to their own machines: another user cannot release juju's", async () => {
    const id = machines[1]?.id ?? '';
    const allocated = await client(['allocate', '-system-id', id]);
    expect(asMachine(allocated.step('allocate')).status_name).toBe('Allocated');
    const otherKey = await maasApiKey(site.controller.url, await createUser(site, 'other'));
    const refused = await client(['release', '-id', id], otherKey);
    expect(refused.failure).toMatchObject({ step: 'release', kind: 'bad-request' });
    expect(asMachine((await client(['read', '-id', id])).step('read')).status_name).toBe(
      'Allocated',
    );
    const unknown = await client(['release', '-id', 'no-such-machine']);
    expect(unknown.failure).toMatchObject({ kind: 'bad-request', http_status: 400 });
    expect((await client(['release', '-id', id])).failure).toBeUndefined();
    expect(asMachine((await client(['read', '-id', id])).step('read')).status_name).toBe('Ready');
  });

  it('allocates by constraints, deploys with user data, sees Deployed, releases', async () => {
    const userData = join(site.controllerDir, 'user-data.sh');
    writeFileSync(userData, '#!/bin/sh\necho hello from juju\n');
    const agentName = randomUUID();
    let simulated: Promise<unknown> | undefined;
    const run: MaasRun = await client(
      [
        'cycle',
        ...['-arch', 'amd64', '-cpu', '4', '-mem', '8192', '-tag', 'gpu', '-not-tag', 'flaky'],
        ...['-zone', 'default', '-storage', 'root:100', '-agent-name', agentName],
        ...[
          '-owner-data',
          `juju-model-uuid=${agentName}`,
          '-owner-data',
          'juju-is-controller=false',
        ],
        ...['-user-data-file', userData, '-distro-series', 'bookworm'],
        ...['-interval', '500ms', '-deploy-timeout', '60s', '-release-timeout', '60s'],
      ],
      maasKey,
      (step) => {
        // The machine "boots" once the client has asked for the deploy.
        if (step.step === 'deploy' && step.ok)
          simulated = simulateDeploy(site, String(step['system_id'])).catch((e: unknown) => e);
      },
    );
    const simulationError = await simulated;
    if (simulationError !== undefined)
      throw new Error('simulated deploy', { cause: simulationError });
    expect(run.failure, `${run.stderr}\n${JSON.stringify(run.steps)}`).toBeUndefined();
    expect(run.code).toBe(0);

    const allocated = asMachine(run.step('allocate'));
    expect(allocated.system_id).toBe(machines[0]?.id);
    expect(allocated).toMatchObject({ status_name: 'Allocated', cpu_count: 8, memory: 16384 });
    expect(allocated.architecture).toMatch(/^amd64/);
    expect(allocated.tag_names).toEqual(expect.arrayContaining(['gpu', 'ssd']));
    // The storage constraint's label maps to one of the machine's own block devices.
    const root = allocated.constraints_by_type?.storage['root'] ?? [];
    expect(root).toHaveLength(1);
    expect(allocated.block_devices.map((d) => d.id)).toContain(root[0]);

    expect(asMachine(run.step('read')).status_name).toBe('Allocated');
    // Juju tags its instances with owner data and finds them again by agent name.
    expect(run.step('owner-data')['owner_data']).toEqual({
      'juju-model-uuid': agentName,
      'juju-is-controller': 'false',
    });
    expect(run.step('instances')['system_ids']).toEqual([allocated.system_id]);
    const deploying = asMachine(run.step('deploy'));
    expect(deploying.status_name).toBe('Deploying');
    expect(deploying.distro_series).toBe('bookworm');
    const deployed = asMachine(run.step('wait Deployed'));
    expect(deployed).toMatchObject({ status_name: 'Deployed', distro_series: 'bookworm' });
    expect(deployed.osystem).toBe('debian');
    expect(run.step('release')['system_ids']).toEqual([allocated.system_id]);
    expect(asMachine(run.step('wait Ready')).status_name).toBe('Ready');

    // Through /api/v1: the same machine, deployed with the user data, now back and unowned.
    const events = await machineEvents(site, site.controller.adminKey, allocated.system_id);
    const transitions = events.filter((e) => e.kind === 'transition').map((e) => e.to_status);
    expect(transitions).toEqual(
      expect.arrayContaining(['allocated', 'deploying', 'deployed', 'ready']),
    );
    const now = await api<MachineJson & { deployment: unknown }>(
      site.controller.url,
      site.controller.adminKey,
      'GET',
      `/api/v1/machines/${allocated.system_id}`,
    );
    expect(now.body).toMatchObject({ status: 'ready', owner: null });
    // Released: no longer the model's instance, and its owner data is gone.
    const after = await client(['instances', '-agent-name', agentName]);
    expect(after.step('instances')['system_ids']).toEqual([]);
    const read = await client(['read', '-id', allocated.system_id]);
    expect(asMachine(read.step('read')).owner_data).toEqual({});
  });
});

/** The machine's side of a deploy: the rack powers it on, it reports its steps and user data. */
async function simulateDeploy(site: Site, id: string): Promise<void> {
  await waitFor('power.on from the rack', async () =>
    (await machineEvents(site, site.controller.adminKey, id)).some(
      (e) => e.step === 'power.on' && e.result === 'succeeded',
    )
      ? true
      : undefined,
  );
  for (const step of DEPLOY_STEPS) await reportStep(site, id, step);
  const machine = await api<{ deployment: { has_user_data: boolean } | null }>(
    site.controller.url,
    site.controller.adminKey,
    'GET',
    `/api/v1/machines/${id}`,
  );
  // The user data gomaasapi sent (base64) arrived with the deploy.
  expect(machine.body.deployment?.has_user_data).toBe(true);
  await reportStep(site, id, 'deployed', 'succeeded', 'cloud-init fetched user data');
}
