/**
 * Agent failover between controllers (issue 7): one agent given both controllers of one
 * PostgreSQL; the controller holding its session is SIGKILLed; the agent moves to the other, the
 * steps a machine reported meanwhile arrive there exactly once, and machines' metadata requests
 * through the agent reach the surviving controller. All over mutual TLS (the default).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import {
  startControllers,
  type ClusterController,
  type Controllers,
} from './harness/cluster-controllers.ts';
import { postgresAvailable, usePostgres } from './harness/postgres.ts';
import { tempDir, waitFor, type AgentProc } from './harness/processes.ts';
import { registerImage, startEnrolledAgent } from './harness/scenario.ts';

interface EventJson {
  id: string;
  step: string;
  result: string;
}

describe.skipIf(!postgresAvailable)('agent failover between two controllers', () => {
  const postgres = usePostgres();
  const dirs = { controllers: tempDir('failover'), agent: tempDir('failover-agent') };
  let cluster: Controllers | undefined;
  let agent: AgentProc | undefined;

  beforeAll(async () => {
    const url = await postgres().createDatabase();
    // One cluster: B gets A's secrets key (it seals the rack CA key) and admin key.
    cluster = await startControllers({
      databaseUrl: url,
      controllers: 2,
      workDir: dirs.controllers.path,
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await cluster?.close();
    for (const d of Object.values(dirs)) d.cleanup();
  });

  const sessionHolder = async (proc: AgentProc): Promise<string | undefined> => {
    const text = await (await fetch(`${proc.url}/metrics`)).text();
    return /^ingot_controller_session_info\{controller="([^"]+)"\} 1$/m.exec(text)?.[1];
  };

  it('moves to the other controller when its own is killed; steps reported meanwhile arrive once', async () => {
    const c = cluster;
    const [a, b] = c?.controllers ?? [];
    if (c === undefined || a === undefined || b === undefined)
      throw new Error('controllers did not start');
    const started = await startEnrolledAgent([a, b], dirs.agent.path);
    agent = started;

    // A machine deploying through the rack, so the rack holds its boot plan.
    await registerImage(a.url, a.adminKey);
    const created = await api<MachineJson>(a.url, a.adminKey, 'POST', '/api/v1/machines', {
      hostname: 'failover-1',
      arch: 'amd64',
      macs: ['52:54:00:fa:11:01'],
      cpu_count: 4,
      memory_mib: 8192,
      storage_gib: 100,
      commission: false,
      power: { type: 'manual', params: {} },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    expect(
      (await api(b.url, b.adminKey, 'POST', '/api/v1/machines/allocate', { name: 'failover-1' }))
        .status,
    ).toBe(200);
    expect((await api(b.url, b.adminKey, 'POST', `/api/v1/machines/${id}/deploy`, {})).status).toBe(
      202,
    );

    const report = async (step: string): Promise<string | undefined> => {
      const r = await api<{ id: string }>(
        started.url,
        undefined,
        'POST',
        '/api/v1/machine-events',
        {
          machine_id: id,
          step,
          result: 'succeeded',
          message: `${step} succeeded`,
        },
      );
      return r.status === 202 ? r.body.id : undefined;
    };
    const first = await waitFor('the boot plan on the rack', () => report('dhcp.ack'));
    const events = async (via: ClusterController): Promise<EventJson[]> =>
      (await api<EventJson[]>(via.url, via.adminKey, 'GET', `/api/v1/machines/${id}/events`)).body;
    await waitFor('dhcp.ack at the controllers', async () =>
      (await events(b)).some((e) => e.id === first) ? true : undefined,
    );

    const holder = await waitFor('a session holder', () => sessionHolder(started));
    const [dead, survivor] = holder === a.grpc ? [a, b] : [b, a];
    expect([a.grpc, b.grpc]).toContain(holder);
    const killedAt = Date.now();
    await c.killController(dead.index);
    // Reported while the agent finds the other controller: buffered in its outbox.
    const later: (string | undefined)[] = [];
    for (const step of ['boot.config', 'boot.kernel', 'boot.initrd'])
      later.push(await report(step));
    expect(later.every((e) => e !== undefined)).toBe(true);

    await waitFor('the agent on the surviving controller', async () =>
      (await sessionHolder(started)) === survivor.grpc ? true : undefined,
    );
    process.stdout.write(
      `agent failover: session on the surviving controller ${String(Date.now() - killedAt)} ms after SIGKILL\n`,
    );
    const delivered = await waitFor('the buffered steps at the survivor', async () => {
      const all = await events(survivor);
      return later.every((e) => all.some((x) => x.id === e)) ? all : undefined;
    });
    // Each step exactly once, in the order the machine reported them.
    const ids = delivered.map((e) => e.id);
    for (const e of [first, ...later]) expect(ids.filter((x) => x === e)).toHaveLength(1);
    expect(
      delivered
        .filter((e) => e.step.startsWith('boot.') || e.step === 'dhcp.ack')
        .map((e) => e.step),
    ).toEqual(['dhcp.ack', 'boot.config', 'boot.kernel', 'boot.initrd']);
    const outbox = await (await fetch(`${started.url}/metrics`)).text();
    await waitFor('an empty outbox', async () =>
      /^ingot_outbox_events 0$/m.test(await (await fetch(`${started.url}/metrics`)).text())
        ? true
        : undefined,
    );
    expect(outbox).toMatch(/^ingot_controller_session_up 1$/m);

    // Machines' metadata requests through the rack reach the survivor (401 without a token,
    // not 502 for the dead controller).
    const meta = await fetch(`${started.url}/MAAS/metadata/latest/meta-data/`);
    expect(meta.status).toBe(401);

    // The killed controller comes back (same data, same database) and the rack is revoked
    // through it, not through the controller holding the session: that session is closed too.
    await c.restartController(dead.index);
    const back = dead;
    const racks = await api<{ id: string }[]>(back.url, back.adminKey, 'GET', '/api/v1/racks');
    const rackId = racks.body[0]?.id ?? '';
    expect((await sessionHolder(started)) ?? '').toBe(survivor.grpc);
    const revoked = await api(back.url, back.adminKey, 'POST', `/api/v1/racks/${rackId}/revoke`);
    expect(revoked.status).toBe(200);
    await waitFor('the revoked rack to lose its session', async () =>
      /^ingot_controller_session_up 0$/m.test(await (await fetch(`${started.url}/metrics`)).text())
        ? true
        : undefined,
    );
  });
});
