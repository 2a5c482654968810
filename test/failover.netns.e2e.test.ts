/**
 * Controller failover (issue 7 must-show): two controllers on one PostgreSQL, one rack agent
 * given both addresses, 20 simulated machines (the fleet simulator: real DHCP, TFTP, HTTP and
 * metadata through the agent). Mid-way through their deploys the controller holding the rack
 * session is SIGKILLed: the agent moves to the other one, every machine still ends `deployed`,
 * and every event is stored exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentOutbox,
  explainMachine,
  fleetSims,
  startFleetCluster,
  type FleetCluster,
} from './harness/cluster-fleet.ts';
import { settle } from './harness/cluster-deploys.ts';
import { checkRun, readStored } from './harness/invariants.ts';
import { postgresAvailable, usePostgres } from './harness/postgres.ts';
import { tempDir, waitFor } from './harness/processes.ts';

const MACHINES = 20;

function fail(): never {
  throw new Error('the site did not start');
}

describe.skipIf(!postgresAvailable)('failover: two controllers, one agent', () => {
  const postgres = usePostgres();
  const work = tempDir('failover');
  let site: FleetCluster | undefined;

  beforeAll(async () => {
    site = await startFleetCluster({
      databaseUrl: await postgres().createDatabase(),
      controllers: 2,
      workDir: work.path,
      machines: MACHINES,
      // Stretch the installer's steps so the kill lands while machines are mid-install.
      stepDelayMs: 400,
      controllerArgs: ['--deploy-timeout', '10m'],
    });
  }, 300_000);

  afterAll(async () => {
    await site?.close();
    work.cleanup();
  }, 60_000);

  it(`kill -9 the controller holding the rack session mid-way: all ${String(MACHINES)} deployed, each event once`, async () => {
    if (site === undefined) throw new Error('the site did not start');
    const { cluster, fleet } = site;
    const holder = await cluster.waitForSessionHolder();
    const deploying = fleet.deploy(undefined, { concurrency: MACHINES, timeoutMs: 480_000 });

    // Mid-way: half the machines are installing, none has finished.
    const installing = (): number =>
      fleet.machines.filter((m) =>
        fleet.timeline(m.id).some((t) => t.step === 'event:install.storage:start'),
      ).length;
    await waitFor(
      'half the machines installing',
      () => Promise.resolve(installing() >= MACHINES / 2 ? true : undefined),
      240_000,
    );
    const deployedBefore = fleet.machines.filter((m) =>
      fleet.timeline(m.id).some((t) => t.step === 'os:user-data'),
    ).length;
    const killedPid = await cluster.killController(holder);
    expect(killedPid).toBeGreaterThan(0);
    const killedAt = Date.now();

    // The agent moves its session to the other controller.
    const next = await cluster.waitForSessionHolder(60_000);
    expect(next).not.toBe(holder);

    const outcomes = await deploying;
    expect(outcomes.map((o) => `${o.id} ${o.status}${o.error ? ` ${o.error}` : ''}`)).toEqual(
      outcomes.map((o) => `${o.id} deployed`),
    );
    expect(deployedBefore).toBeLessThan(MACHINES);
    // Steps really went on after the kill, through the survivor.
    const after = fleet.machines.filter((m) =>
      fleet.timeline(m.id).some((t) => t.step.startsWith('event:') && t.at > killedAt),
    ).length;
    expect(after).toBeGreaterThan(0);

    await settle(cluster, 60_000);
    // The agent's own count: everything it recorded has reached a controller.
    const outbox = await waitFor(
      'the agent’s outbox drained',
      async () => ((await agentOutbox(site?.network ?? fail())) === 0 ? 0 : undefined),
      60_000,
    ).catch(() => agentOutbox(site?.network ?? fail()));
    const survivor = cluster.controllers[next];
    if (survivor === undefined) throw new Error('no survivor');
    const stored = await readStored(survivor.url, cluster.adminKey);
    const report = checkRun(
      { machines: stored.machines, events: stored.events, sims: fleetSims(fleet), grants: [] },
      { onceSteps: ['power.on:succeeded'], onceTransitions: true },
    );
    process.stdout.write(
      `failover: ${String(MACHINES)} deploys, controller ${String(holder)} (pid ${String(killedPid)}) ` +
        `killed with ${String(installing())} installing and ${String(deployedBefore)} deployed; ` +
        `${String(stored.events.length)} events, agent outbox ${String(outbox)}, ` +
        `${String(report.violations.length)} violations\n`,
    );
    const first = report.violations[0]?.machineId;
    if (first !== undefined && first !== null) {
      const t0 = fleet.timeline(first)[0]?.at ?? killedAt;
      process.stdout.write(
        `failover: killed at +${((killedAt - t0) / 1000).toFixed(1)} s\n` +
          `${explainMachine(fleet, stored.events, first)}\n`,
      );
      // The agent's warnings and errors (session moves, refused sends …), for whoever debugs it.
      const agentLog = fleet.agent
        .output()
        .split('\n')
        .filter((l) => /"level":"(warn|error)"/.test(l));
      process.stdout.write(`failover: agent log\n${agentLog.slice(0, 40).join('\n')}\n`);
    }
    expect(report.violations).toEqual([]);
    // Every machine's installer steps are there once each, as the simulator made them.
    const steps = stored.events.filter(
      (e) => e.step === 'install.image' && e.result === 'succeeded',
    );
    expect(new Set(steps.map((e) => e.machine_id)).size).toBe(MACHINES);
    expect(steps).toHaveLength(MACHINES);
  }, 600_000);
});
