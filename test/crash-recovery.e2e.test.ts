import { afterEach, describe, expect, it } from 'vitest';
import { api } from './harness/api.ts';
import { startAgentProc, startControllerProc, waitFor } from './harness/processes.ts';
import {
  DEPLOY_STEPS,
  createReadyMachine,
  createUser,
  machineEvents,
  reportStep,
  startSite,
  waitForStatus,
  waitForStep,
  type Site,
} from './harness/scenario.ts';

/** Starts deploying a fresh machine as `key`'s owner; resolves once the rack has the plan. */
async function startDeploy(site: Site, key: string, index: number): Promise<string> {
  const machine = await createReadyMachine(site, index);
  expect(
    (
      await api(site.controller.url, key, 'POST', '/api/v1/machines/allocate', {
        name: machine.hostname,
      })
    ).status,
  ).toBe(200);
  expect(
    (await api(site.controller.url, key, 'POST', `/api/v1/machines/${machine.id}/deploy`, {}))
      .status,
  ).toBe(202);
  await waitForStep(site, key, machine.id, 'power.on');
  return machine.id;
}

function portOf(address: string): number {
  return Number(address.split(':').at(-1));
}

async function restartController(site: Site): Promise<void> {
  site.controller = await startControllerProc({
    dataDir: site.controllerDir,
    httpPort: portOf(site.controller.url),
    grpcPort: portOf(site.controller.grpc),
  });
}

describe('crash recovery', () => {
  let site: Site | undefined;
  afterEach(async () => {
    site?.controller.signal('SIGCONT');
    await site?.cleanup();
    site = undefined;
  });

  it('delivers each of 1,000 unacknowledged events exactly once after the agent is SIGKILLed', async () => {
    site = await startSite();
    const key = await createUser(site, 'bob');
    const id = await startDeploy(site, key, 1);

    // Freeze the controller so nothing the agent sends is acknowledged, then queue 1,000 events.
    site.controller.signal('SIGSTOP');
    const ids: string[] = [];
    for (let i = 0; i < 999; i++)
      ids.push(await reportStep(site, id, 'install.image', 'info', `block ${i}`));
    ids.push(await reportStep(site, id, 'deployed', 'succeeded', 'cloud-init called back'));

    site.agent.signal('SIGKILL');
    await site.agent.exited;
    site.controller.signal('SIGCONT');
    site.agent = await startAgentProc({
      controller: site.controller.grpc,
      dataDir: site.agentDir,
      httpPort: portOf(site.agent.url),
    });

    await waitForStatus(site, key, id, 'deployed', 60_000);
    const stored = await waitFor('all 1,000 events', async () => {
      const events = await machineEvents(site!, key, id);
      return events.filter((e) => ids.includes(e.id)).length >= 1000 ? events : undefined;
    });
    const delivered = stored.filter((e) => ids.includes(e.id));
    expect(delivered).toHaveLength(1000);
    expect(new Set(delivered.map((e) => e.id)).size).toBe(1000);
    expect(delivered.map((e) => e.id)).toEqual(ids);
    expect(stored.filter((e) => e.to_status === 'deployed')).toHaveLength(1);

    // The agent's outbox drains: the controller acknowledged everything.
    await waitFor('an empty outbox', async () => {
      const racks = await api<{ health: { outbox_depth: number } | null }[]>(
        site!.controller.url,
        site!.controller.adminKey,
        'GET',
        '/api/v1/racks',
      );
      return racks.body[0]?.health?.outbox_depth === 0 ? true : undefined;
    });
  });

  it('finishes a deployment when the controller is SIGKILLed mid-way and restarted', async () => {
    site = await startSite();
    const key = await createUser(site, 'carol');
    const id = await startDeploy(site, key, 2);
    const ids: string[] = [];
    for (const step of DEPLOY_STEPS.slice(0, 4)) ids.push(await reportStep(site, id, step));
    await waitForStep(site, key, id, DEPLOY_STEPS[3]);

    site.controller.signal('SIGKILL');
    await site.controller.exited;
    // The machine goes on booting while the controller is away; the agent keeps the events.
    for (const step of DEPLOY_STEPS.slice(4)) ids.push(await reportStep(site, id, step));
    ids.push(await reportStep(site, id, 'deployed', 'succeeded', 'cloud-init called back'));
    await restartController(site);

    await waitForStatus(site, key, id, 'deployed', 60_000);
    const stored = await machineEvents(site, key, id);
    expect(stored.filter((e) => ids.includes(e.id)).map((e) => e.step)).toEqual([
      ...DEPLOY_STEPS,
      'deployed',
    ]);
    expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
  });

  it('delivers the boot plan and power command queued while the rack was away', async () => {
    site = await startSite();
    const key = await createUser(site, 'dave');
    const machine = await createReadyMachine(site, 3);
    expect(
      (
        await api(site.controller.url, key, 'POST', '/api/v1/machines/allocate', {
          name: machine.hostname,
        })
      ).status,
    ).toBe(200);

    site.agent.signal('SIGKILL');
    await site.agent.exited;
    expect(
      (await api(site.controller.url, key, 'POST', `/api/v1/machines/${machine.id}/deploy`, {}))
        .status,
    ).toBe(202);
    site.controller.signal('SIGKILL');
    await site.controller.exited;
    await restartController(site);
    site.agent = await startAgentProc({
      controller: site.controller.grpc,
      dataDir: site.agentDir,
      httpPort: portOf(site.agent.url),
    });

    await waitForStep(site, key, machine.id, 'power.on');
    for (const step of DEPLOY_STEPS) await reportStep(site, machine.id, step);
    await reportStep(site, machine.id, 'deployed');
    await waitForStatus(site, key, machine.id, 'deployed');
    const events = await machineEvents(site, key, machine.id);
    expect(events.filter((e) => e.step === 'power.on' && e.result === 'succeeded')).toHaveLength(1);
  });
});
