import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type EventJson, type MachineJson } from './harness/api.ts';
import { waitFor } from './harness/processes.ts';
import { startSite, type Site } from './harness/scenario.ts';
import { FakeMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService, type RedfishService } from '@ingot/lab/redfish/service.ts';

interface PowerJson {
  state: string;
  seen_at: string | null;
  type: string | null;
}

describe('power through a real agent: polling, actions, failing BMCs', () => {
  let site: Site;
  let bmc: RedfishService;
  const box = new FakeMachine('Off');

  beforeAll(async () => {
    bmc = await startRedfishService({
      systems: { sys1: box },
      username: 'root',
      password: 'calvin-9x',
    });
    site = await startSite([], { args: ['--power-poll', '1s'] });
  });
  afterAll(async () => {
    await site.cleanup();
    await bmc.close();
  });

  async function machineWith(
    hostname: string,
    params: Record<string, unknown>,
  ): Promise<MachineJson> {
    const r = await api<MachineJson>(
      site.controller.url,
      site.controller.adminKey,
      'POST',
      '/api/v1/machines',
      {
        hostname,
        macs: [hostname === 'bmc-ok' ? '52:54:00:50:00:01' : '52:54:00:50:00:02'],
        commission: false,
        power: { type: 'redfish', params },
      },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  async function power(id: string): Promise<PowerJson> {
    return (
      await api<PowerJson>(
        site.controller.url,
        site.controller.adminKey,
        'GET',
        `/api/v1/machines/${id}/power`,
      )
    ).body;
  }

  it('polls the BMC, shows the state and when it was seen, and follows a power action', async () => {
    const m = await machineWith('bmc-ok', {
      address: bmc.url,
      username: 'root',
      password: 'calvin-9x',
      verifyTls: false,
    });
    const off = await waitFor('the first observation', async () => {
      const p = await power(m.id);
      return p.state === 'off' ? p : undefined;
    });
    expect(off.type).toBe('redfish');
    expect(Date.parse(off.seen_at ?? '')).toBeGreaterThan(Date.now() - 60_000);

    const r = await api(
      site.controller.url,
      site.controller.adminKey,
      'POST',
      `/api/v1/machines/${m.id}/power`,
      { action: 'on' },
    );
    expect(r.status).toBe(202);
    await waitFor('the machine on, as polled', async () =>
      (await power(m.id)).state === 'on' ? true : undefined,
    );
    expect(box.state).toBe('On');
  });

  it('shows a failing BMC on its machine only, and keeps polling the others', async () => {
    const ok = (
      await api<MachineJson[]>(
        site.controller.url,
        site.controller.adminKey,
        'GET',
        '/api/v1/machines?hostname=bmc-ok',
      )
    ).body[0];
    // A closed loopback port: the driver fails at once, and nothing leaves this machine.
    const bad = await machineWith('bmc-down', {
      address: 'https://127.0.0.1:1',
      username: 'root',
      password: 'calvin-9x',
    });
    await waitFor('the failing BMC on its machine', async () =>
      (await power(bad.id)).state === 'error' ? true : undefined,
    );
    const events = (
      await api<EventJson[]>(
        site.controller.url,
        site.controller.adminKey,
        'GET',
        `/api/v1/machines/${bad.id}/events`,
      )
    ).body;
    const failure = events.find((e) => e.step === 'power.query' && e.result === 'failed');
    expect(failure?.message).toMatch(/^BMC unreachable or refusing \(connection\)/);
    expect(failure?.message).not.toContain('calvin-9x');
    // The healthy machine is still observed, more recently than before.
    const before = Date.parse((await power(ok!.id)).seen_at ?? '');
    await waitFor('a newer observation of the healthy machine', async () =>
      Date.parse((await power(ok!.id)).seen_at ?? '') > before ? true : undefined,
    );
  });
});
