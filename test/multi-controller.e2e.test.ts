/**
 * Two controller processes on one PostgreSQL and one rack agent on loopback behave as one system
 * (issue 7, item 2): `/ws` on either controller shows what was done through the other, each
 * event once; a power command sent through the controller that does not hold the rack's session
 * reaches the agent at once (the heartbeat fallback is set to a minute, so only the cluster
 * signal can explain a prompt delivery); and when the controller holding the session is killed
 * with SIGKILL, the agent's session moves to the other one, which then owns the rack and drives
 * its BMC, and takes over the deadline sweep, ending the deploy the dead controller started.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService, type RedfishService } from '@ingot/lab/redfish/service.ts';
import { api, type EventJson, type MachineJson } from './harness/api.ts';
import {
  startControllers,
  type ClusterController,
  type Controllers,
} from './harness/cluster-controllers.ts';
import { postgresAvailable, usePostgres } from './harness/postgres.ts';
import { tempDir, waitFor, type AgentProc } from './harness/processes.ts';
import {
  registerImage,
  startEnrolledAgent,
  waitForHealthyRacks,
  type ControllerEndpoint,
} from './harness/scenario.ts';
import { tapEvents } from './harness/ws.ts';

interface RackJson {
  id: string;
  status: string;
  controller: { id: string; name: string; lease_expires_at: string } | null;
}

describe.skipIf(!postgresAvailable)('two controllers on one PostgreSQL, one agent', () => {
  const postgres = usePostgres();
  const dirs = { controllers: tempDir('ctl'), agent: tempDir('agent') };
  const box = new FakeMachine('Off');
  let cluster: Controllers | undefined;
  let a: ClusterController;
  let b: ClusterController;
  let agent: AgentProc | undefined;
  let bmc: RedfishService;
  let rackId: string;
  let machine: MachineJson;
  let databaseUrl: string;
  /** What each process wrote, by tag (`c0` is B, `c1` A), for INGOT_TEST_LOGS=1. */
  const logs = new Map<string, string>();
  let bmcStarted: RedfishService | undefined;
  // A minute between heartbeats: pending commands are resent on each one, so a command that
  // arrives sooner was sent because of the cluster's wake-up signal.
  // A deploy nobody reports on fails after 10 s (the sweeper's work, done by the leader).
  const controllerArgs = ['--heartbeat-interval', '60s', '--deploy-timeout', '10s'];

  /** The rack as `via` shows it. */
  async function rack(via: ControllerEndpoint): Promise<RackJson> {
    const r = await api<RackJson[]>(via.url, via.adminKey, 'GET', '/api/v1/racks');
    expect(r.status).toBe(200);
    const found = r.body.find((x) => x.id === rackId);
    if (found === undefined) throw new Error(`rack ${rackId} not listed`);
    return found;
  }

  function resets(): number {
    return bmc.events.filter((e) => e.kind === 'reset').length;
  }

  beforeAll(async () => {
    const url = await postgres().createDatabase();
    databaseUrl = url;
    bmcStarted = bmc = await startRedfishService({
      systems: { sys1: box },
      username: 'root',
      password: 'pw-1x',
    });
    // B starts first (index 0): it makes the admin and becomes the sweeper's leader. One admin
    // and one secrets key for the cluster: A gets B's (as an operator would copy them).
    cluster = await startControllers({
      databaseUrl: url,
      controllers: 2,
      workDir: dirs.controllers.path,
      controllerArgs: (i) => ['--name', i === 0 ? 'b' : 'a', ...controllerArgs],
      onOutput: (who, text) => logs.set(who, (logs.get(who) ?? '') + text),
    });
    const [first, second] = cluster.controllers;
    if (first === undefined || second === undefined) throw new Error('controllers did not start');
    [b, a] = [first, second];
    expect(a.proc?.output()).not.toMatch(/Admin API key written/);
    // Images uploaded through B are in the database, so A serves them too.
    await registerImage(b.url, b.adminKey);
    // The agent knows both controllers and starts with B; its token comes from A. Image files
    // and metadata come from the controller the session is on.
    agent = await startEnrolledAgent([b, a], dirs.agent.path, { via: a });
    const racks = await waitForHealthyRacks(a);
    rackId = racks[0]?.id ?? '';
    await waitFor('B to hold the session', async () =>
      (await rack(a)).controller?.name === 'b' ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    if (process.env['INGOT_TEST_LOGS'] === '1') {
      for (const [name, text] of logs) process.stdout.write(`--- ${name}\n${text}\n`);
      process.stdout.write(`--- agent\n${agent?.output() ?? ''}\n`);
    }
    // The agent first, then the controllers, each by its PID.
    await agent?.stop();
    await cluster?.close();
    await bmcStarted?.close();
    for (const d of Object.values(dirs)) d.cleanup();
  });

  it('a /ws client on B sees each event of machines made and acted on through A, once', async () => {
    const tap = await tapEvents(b.url, b.adminKey);
    try {
      const created = await api<MachineJson>(a.url, a.adminKey, 'POST', '/api/v1/machines', {
        hostname: 'node-1',
        arch: 'amd64',
        macs: ['52:54:00:77:00:01'],
        cpu_count: 8,
        memory_mib: 16384,
        storage_gib: 500,
        commission: false,
        rack: rackId,
        power: {
          type: 'redfish',
          params: { address: bmc.url, username: 'root', password: 'pw-1x', verifyTls: false },
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      machine = created.body;
      for (const action of ['lock', 'unlock']) {
        const r = await api(a.url, a.adminKey, 'POST', `/api/v1/machines/${machine.id}/${action}`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
      const stored = await api<EventJson[]>(
        a.url,
        a.adminKey,
        'GET',
        `/api/v1/machines/${machine.id}/events`,
      );
      const ids = stored.body.map((e) => e.id);
      expect(ids.length).toBeGreaterThanOrEqual(3);
      const mine = (): EventJson[] => tap.events.filter((e) => e.machine_id === machine.id);
      await waitFor('B streams every event written through A', () =>
        Promise.resolve(mine().length >= ids.length ? true : undefined),
      );
      // A moment for any duplicate to arrive, then: each once, in seq order.
      await new Promise((r) => setTimeout(r, 500));
      expect(mine().map((e) => e.id)).toEqual(ids);
      const seqs = tap.events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
    } finally {
      tap.close();
    }
  });

  it('a power command sent through A reaches the agent connected to B at once', async () => {
    expect((await rack(a)).controller?.name).toBe('b');
    const before = resets();
    const sentAt = Date.now();
    const r = await api(a.url, a.adminKey, 'POST', `/api/v1/machines/${machine.id}/power`, {
      action: 'on',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    await waitFor('the BMC to be told to power on', () =>
      Promise.resolve(resets() > before ? true : undefined),
    );
    const elapsedMs = Date.now() - sentAt;
    process.stdout.write(
      `power command via A reached the BMC through B in ${String(elapsedMs)} ms\n`,
    );
    // Well inside the one-minute heartbeat that would otherwise resend it.
    expect(elapsedMs).toBeLessThan(20_000);
    expect(await box.powerState()).toBe('On');
  });

  it('SIGKILL of B mid-deploy (it holds the session and leads the sweeper): the agent moves to A, which owns the rack, and the deploy B started still times out', async () => {
    // Allocation skips rows another transaction holds (FOR UPDATE SKIP LOCKED), and B may be
    // recording the power result of the previous test on this very machine: a 409 then is
    // "busy", not "no such machine", so try again a few times.
    const allocated = await waitFor('the machine to be allocated', async () => {
      const r = await api(b.url, b.adminKey, 'POST', '/api/v1/machines/allocate', {
        name: machine.hostname,
      });
      return r.status === 409 ? undefined : r;
    });
    expect(allocated.status, JSON.stringify(allocated.body)).toBe(200);
    const deploy = await api(
      b.url,
      b.adminKey,
      'POST',
      `/api/v1/machines/${machine.id}/deploy`,
      {},
    );
    expect(deploy.status, JSON.stringify(deploy.body)).toBe(202);
    if (cluster === undefined) throw new Error('controllers did not start');
    await cluster.killController(b.index);
    const moved = await waitFor(
      'A to hold the session',
      async () => {
        const seen = await rack(a);
        return seen.controller?.name === 'a' ? seen : undefined;
      },
      60_000,
    );
    expect(moved.controller?.id).toMatch(/^a-[0-9a-f]{8}$/);
    expect(moved.status).toBe('healthy');
    // A drives the rack now: a power command through A reaches the BMC.
    const before = resets();
    const r = await api(a.url, a.adminKey, 'POST', `/api/v1/machines/${machine.id}/power`, {
      action: 'off',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    await waitFor('the BMC to be told to power off', () =>
      Promise.resolve(resets() > before ? true : undefined),
    );
    expect(await box.powerState()).toBe('Off');
    // The deadline lives in the database: A, now the leader, ends the deploy nobody reports on.
    const failed = await waitFor(
      'the deploy B started to time out on A',
      async () => {
        const m = await api<MachineJson>(
          a.url,
          a.adminKey,
          'GET',
          `/api/v1/machines/${machine.id}`,
        );
        return m.body.status === 'failed_deployment' ? m.body : undefined;
      },
      60_000,
    );
    expect(failed.status_message).toMatch(/^Timed out in deploying/);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^ingot_cluster_leader 1$/m);
    expect(metrics).toMatch(/^ingot_cluster_listening 1$/m);
    expect(metrics).toMatch(/^ingot_controller_info\{instance="a-[0-9a-f]{8}",name="a"\} 1$/m);
  }, 120_000);

  it('a controller joining the database writes no admin.key and says how to get one', async () => {
    const dir = tempDir('ctl-c');
    try {
      copyFileSync(join(b.dataDir, 'secrets.key'), join(dir.path, 'secrets.key'));
      const cli = resolve(import.meta.dirname, '..', 'packages', 'cli', 'src', 'main.ts');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', cli, 'controller', '--data', dir.path, '--db', databaseUrl],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, INGOT_HTTP: '127.0.0.1:0', INGOT_GRPC: '127.0.0.1:0' },
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        await waitFor('the joining controller to start', () =>
          Promise.resolve(/listening on http:/.test(out) ? true : undefined),
        );
        expect(out).toMatch(/The admin user already exists .*ingot users api-key/s);
        expect(existsSync(join(dir.path, 'admin.key'))).toBe(false);
      } finally {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    } finally {
      dir.cleanup();
    }
  }, 60_000);
});
