import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
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
import { waitFor } from './harness/processes.ts';
import { tapEvents } from './harness/ws.ts';

describe('deployment through a real controller and rack agent', () => {
  let site: Site;
  let userKey: string;

  beforeAll(async () => {
    site = await startSite(['--deploy-timeout', '6s']);
    userKey = await createUser(site, 'alice');
  });
  afterAll(async () => {
    await site.cleanup();
  });

  it('takes a machine ready → allocated → deploying → deployed from steps the agent streams', async () => {
    const machine = await createReadyMachine(site, 1);
    const tap = await tapEvents(site.controller.url, userKey, machine.id);
    try {
      const allocated = await api<MachineJson>(
        site.controller.url,
        userKey,
        'POST',
        '/api/v1/machines/allocate',
        {
          name: machine.hostname,
        },
      );
      expect(allocated.status).toBe(200);
      expect(allocated.body).toMatchObject({ id: machine.id, status: 'allocated', owner: 'alice' });

      const deploying = await api<MachineJson>(
        site.controller.url,
        userKey,
        'POST',
        `/api/v1/machines/${machine.id}/deploy`,
        {
          os: 'debian',
          release: 'bookworm',
          user_data: '#cloud-config\n',
        },
      );
      expect(deploying.status).toBe(202);
      expect(deploying.body.status).toBe('deploying');

      // The rack runs the power command (manual driver here) and reports power.on.
      await waitFor('power.on from the rack', () =>
        Promise.resolve(
          tap.events.some((e) => e.step === 'power.on' && e.result === 'succeeded')
            ? true
            : undefined,
        ),
      );
      const ids: string[] = [];
      for (const step of DEPLOY_STEPS) ids.push(await reportStep(site, machine.id, step));
      ids.push(
        await reportStep(site, machine.id, 'deployed', 'succeeded', 'cloud-init fetched user data'),
      );

      const deployed = await waitForStatus(site, userKey, machine.id, 'deployed');
      expect(deployed.last_step).toMatchObject({ step: 'deployed', result: 'succeeded' });

      const stored = await machineEvents(site, userKey, machine.id);
      const transitions = stored
        .filter((e) => e.kind === 'transition')
        .map((e) => `${e.from_status ?? '-'}→${e.to_status ?? '-'}`);
      expect(transitions).toEqual([
        '-→ready',
        'ready→allocated',
        'allocated→deploying',
        // install.reboot: the installer is done, the machine boots its disk from now on.
        'deploying→deploying',
        'deploying→deployed',
      ]);
      // Every reported step is stored once, in the order the machine reported it.
      const reported = stored.filter((e) => ids.includes(e.id)).map((e) => e.step);
      expect(reported).toEqual([...DEPLOY_STEPS, 'deployed']);
      expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);

      // /ws delivered the same events in the same order as the stored history.
      await waitFor('the deployed transition on /ws', () =>
        Promise.resolve(tap.events.some((e) => e.to_status === 'deployed') ? true : undefined),
      );
      const storedAfterTap = stored.filter((e) => e.seq >= (tap.events[0]?.seq ?? Infinity));
      expect(tap.events.map((e) => e.id)).toEqual(storedAfterTap.map((e) => e.id));
    } finally {
      tap.close();
    }
  });

  it('ends a deployment nobody reports on in failed_deployment with the last step', async () => {
    const machine = await createReadyMachine(site, 2);
    await api(site.controller.url, userKey, 'POST', '/api/v1/machines/allocate', {
      name: machine.hostname,
    });
    const r = await api(
      site.controller.url,
      userKey,
      'POST',
      `/api/v1/machines/${machine.id}/deploy`,
      {},
    );
    expect(r.status).toBe(202);
    await waitForStep(site, userKey, machine.id, 'power.on');
    await reportStep(site, machine.id, 'dhcp.ack');
    const failed = await waitForStatus(site, userKey, machine.id, 'failed_deployment', 20_000);
    expect(failed.status_message).toMatch(/Timed out in deploying; last step dhcp\.ack succeeded/);
    const events = await machineEvents(site, userKey, machine.id);
    expect(events.at(-1)).toMatchObject({
      kind: 'transition',
      step: 'timeout',
      from_status: 'deploying',
      to_status: 'failed_deployment',
      actor: 'system',
    });
  });

  it('fails a deployment at once when a step fails, showing the step and its error', async () => {
    const machine = await createReadyMachine(site, 3);
    await api(site.controller.url, userKey, 'POST', '/api/v1/machines/allocate', {
      name: machine.hostname,
    });
    await api(site.controller.url, userKey, 'POST', `/api/v1/machines/${machine.id}/deploy`, {});
    await waitForStep(site, userKey, machine.id, 'power.on');
    await reportStep(
      site,
      machine.id,
      'install.storage',
      'failed',
      'disk /dev/vda is 2 GiB, the image needs 4 GiB',
    );
    const failed = await waitForStatus(site, userKey, machine.id, 'failed_deployment');
    expect(failed.status_message).toBe(
      'install.storage failed: disk /dev/vda is 2 GiB, the image needs 4 GiB',
    );
  });

  it('refuses steps for machines the rack has no boot plan for', async () => {
    const r = await api(site.agent.url, undefined, 'POST', '/api/v1/machine-events', {
      machine_id: 'nosuch',
      step: 'dhcp.ack',
      result: 'succeeded',
    });
    expect(r.status).toBe(404);
  });
});
