/**
 * `pnpm bench:fleet [--machines 1000] [--concurrency 100] [--stored 10000] [--postgres]
 * [--agent-runtime bundle|source]`: boots and deploys simulated machines (@ingot/fleet-sim: real
 * DHCP, TFTP, HTTP and metadata over sockets in a network namespace) through one real rack agent
 * (as in production: the bundle with its Node flags; `source` for tsx and Node's defaults) and one
 * real controller (SQLite by default), then stores machines up to `--stored` and exercises the controller's listing and
 * metrics. Samples VmRSS of both processes every second and reads VmHWM at the end. Figures, not
 * assertions (DESIGN.md §10 goals: agent ≤ 200 MB, controller ≤ 300 MB with 10,000 machines).
 * Ends with `fleet: <n> machines in <s> s, agent rss <MB> MB, controller rss <MB> MB`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFleetNetwork, startFleet, type DeployOutcome } from '@ingot/fleet-sim';
import { runPool } from '@ingot/fleet-sim/pool.ts';
import { newMachine, startPostgresServer, type PostgresServer } from '@ingot/controller/testing';
import { openPostgresStore, openSqliteStore } from '@ingot/controller';
import { startControllerProc, tempDir, type ControllerProc } from '../harness/processes.ts';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '100' },
    stored: { type: 'string', default: '10000' },
    // Minutes a machine may stay `deploying` (the controller's --deploy-timeout and the wait).
    'deploy-timeout': { type: 'string', default: '20' },
    // `store`: the extra machines go straight into the database (seconds); `api`: one POST each.
    'stored-via': { type: 'string', default: 'store' },
    postgres: { type: 'boolean', default: false },
    'step-delay': { type: 'string', default: '0' },
    trace: { type: 'boolean', default: false },
    // `bundle`: the agent as in production (packages/rack-agent/dist/ingot-agent.mjs with
    // AGENT_NODE_FLAGS); `source`: `ingot agent` through tsx with Node's defaults (reference).
    'agent-runtime': { type: 'string', default: 'bundle' },
  },
});
const count = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number, not ${String(v)}`);
  return n;
};
const MACHINES = count('machines', values.machines);
const CONCURRENCY = Math.max(1, count('concurrency', values.concurrency));
const STORED = count('stored', values.stored);
const AGENT_RUNTIME = values['agent-runtime'];
if (AGENT_RUNTIME !== 'bundle' && AGENT_RUNTIME !== 'source')
  throw new Error(`--agent-runtime is bundle or source, not ${AGENT_RUNTIME}`);
const DEPLOY_TIMEOUT_MIN = Math.max(1, count('deploy-timeout', values['deploy-timeout']));

/** kB fields of /proc/<pid>/status, in MB (0 when the process is gone). */
function memory(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

const log = (line: string): void =>
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const work = tempDir('bench-fleet');
const net = await createFleetNetwork('bench');
let pg: PostgresServer | undefined;
let controller: ControllerProc | undefined;
let fleetClose: (() => Promise<void>) | undefined;
let up = 0;
// Ctrl-C: let the finally block stop the processes and remove the namespaces.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void Promise.resolve(fleetClose?.())
      .catch(() => undefined)
      .then(() => controller?.stop())
      .then(() => pg?.stop())
      .then(() => net.cleanup())
      .then(() => work.cleanup())
      .finally(() => process.exit(130));
  });
}
try {
  let dbUrl: string | undefined;
  if (values.postgres) {
    pg = await startPostgresServer();
    dbUrl = await pg.createDatabase();
    log(`PostgreSQL on 127.0.0.1:${pg.port}`);
  }
  controller = await startControllerProc({
    dataDir: join(work.path, 'controller'),
    host: net.controllerHost,
    args: [
      '--deploy-timeout',
      `${DEPLOY_TIMEOUT_MIN}m`,
      ...(dbUrl === undefined ? [] : ['--db', dbUrl]),
    ],
  });
  const ctl = controller;
  log(`controller ${ctl.pid} (${pg === undefined ? 'SQLite' : 'PostgreSQL'}) on ${ctl.url}`);
  const t0 = Date.now();
  const fleet = await startFleet({
    network: net,
    controllers: [{ url: ctl.url, grpc: ctl.grpc }],
    adminKey: ctl.adminKey,
    machines: MACHINES,
    createConcurrency: 16,
    agentRuntime: AGENT_RUNTIME,
    stepDelayMs: count('step-delay', values['step-delay']),
    log,
    onTrace: (t) => {
      if (t.step === 'os.up') up++;
      if (values.trace) log(`${t.mac} ${t.step} ${JSON.stringify(t.detail ?? {})}`);
    },
  });
  fleetClose = () => fleet.close();
  log(
    `site ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; agent ${fleet.agent.pid}, simulator ${fleet.simPid}`,
  );

  const peak = { agent: 0, controller: 0 };
  const sample = (): void => {
    peak.agent = Math.max(peak.agent, memory(fleet.agent.pid).rss);
    peak.controller = Math.max(peak.controller, memory(ctl.pid).rss);
  };
  const sampler = setInterval(sample, 1000);
  const progress = setInterval(() => {
    log(
      `  … ${up}/${MACHINES} up; agent ${memory(fleet.agent.pid).rss.toFixed(0)} MB, controller ${memory(ctl.pid).rss.toFixed(0)} MB`,
    );
  }, 15_000);
  const started = Date.now();
  const outcomes: DeployOutcome[] = await fleet.deploy(undefined, {
    concurrency: CONCURRENCY,
    timeoutMs: (DEPLOY_TIMEOUT_MIN + 1) * 60_000,
  });
  const seconds = (Date.now() - started) / 1000;
  clearInterval(progress);
  sample();
  const agentHwm = memory(fleet.agent.pid).hwm;

  const byStatus = new Map<string, number>();
  for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
  const durations = outcomes
    .filter((o) => o.status === 'deployed')
    .map((o) => o.seconds)
    .sort((a, b) => a - b);
  const pct = (p: number): string =>
    (
      durations[Math.min(durations.length - 1, Math.floor((p / 100) * durations.length))] ?? 0
    ).toFixed(1);
  const ips = new Map<string, string>();
  let shared = 0;
  for (const [id, set] of fleet.addresses()) {
    for (const ip of set) {
      const owner = ips.get(ip);
      if (owner !== undefined && owner !== id) shared++;
      ips.set(ip, id);
    }
  }
  log(`deployed ${MACHINES} machines, ${CONCURRENCY} at a time, in ${seconds.toFixed(1)} s`);
  log(`  outcomes: ${[...byStatus].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  log(`  per-machine deploy time: p50 ${pct(50)} s, p90 ${pct(90)} s, max ${pct(100)} s`);
  log(`  addresses: ${ips.size} distinct, ${shared} given to two machines`);
  for (const o of outcomes.filter((x) => x.status !== 'deployed').slice(0, 5)) {
    log(`  ${o.id} ${o.status}: ${o.error ?? ''}`);
    log(
      `    last steps: ${fleet
        .timeline(o.id)
        .slice(-6)
        .map((t) => t.step)
        .join(' → ')}`,
    );
  }

  // The controller with STORED machines: add the rest through the API, then list and scrape.
  const extra = Math.max(0, STORED - MACHINES);
  const t1 = Date.now();
  if (values['stored-via'] === 'api') {
    await runPool(
      Array.from({ length: extra }, (_, i) => i),
      16,
      async (i) => {
        const mac = `52:f2:${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}:00`;
        const res = await fetch(`${ctl.url}/api/v1/machines`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ctl.adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ hostname: `stored-${i}`, macs: [mac], commission: false }),
        });
        if (res.status !== 201)
          throw new Error(`stored machine ${i}: ${res.status} ${await res.text()}`);
      },
    );
  } else if (extra > 0) {
    // Beside the running controller (SQLite WAL takes a second writer; PostgreSQL anyway).
    const store =
      dbUrl === undefined
        ? await openSqliteStore(join(work.path, 'controller', 'ingot.db'))
        : await openPostgresStore(dbUrl);
    try {
      for (let from = 0; from < extra; from += 1000) {
        await store.transaction(async (tx) => {
          for (let i = from; i < Math.min(extra, from + 1000); i++) {
            await tx.insertMachine(
              newMachine({ hostname: `stored-${String(i).padStart(5, '0')}` }),
            );
          }
        });
      }
    } finally {
      await store.close();
    }
  }
  if (extra > 0)
    log(
      `stored ${extra} more machines (${values['stored-via']}) in ${((Date.now() - t1) / 1000).toFixed(1)} s`,
    );
  const timed = async (what: string, path: string): Promise<void> => {
    const t = Date.now();
    const res = await fetch(`${ctl.url}${path}`, {
      headers: { authorization: `Bearer ${ctl.adminKey}` },
    });
    const body = await res.arrayBuffer();
    sample();
    log(
      `  ${what}: ${res.status}, ${(body.byteLength / 1024).toFixed(0)} KiB in ${Date.now() - t} ms`,
    );
  };
  for (let i = 0; i < 3; i++) {
    await timed('GET /metrics', '/metrics');
    await timed('GET /api/v1/machines', '/api/v1/machines');
    await timed('GET /api/v1/racks', '/api/v1/racks');
  }
  clearInterval(sampler);
  sample();
  const ctlHwm = memory(ctl.pid).hwm;
  log(
    `agent (${AGENT_RUNTIME}): peak VmRSS ${peak.agent.toFixed(0)} MB, VmHWM ${agentHwm.toFixed(0)} MB (goal ≤ 200 MB)`,
  );
  log(
    `controller with ${Math.max(STORED, MACHINES)} machines: peak VmRSS ${peak.controller.toFixed(0)} MB, VmHWM ${ctlHwm.toFixed(0)} MB (goal ≤ 300 MB)`,
  );
  console.log(
    `fleet: ${MACHINES} machines in ${seconds.toFixed(1)} s, agent rss ${Math.max(agentHwm, peak.agent).toFixed(0)} MB, controller rss ${Math.max(ctlHwm, peak.controller).toFixed(0)} MB`,
  );
  if (byStatus.get('deployed') !== MACHINES) process.exitCode = 1;
} finally {
  await fleetClose?.().catch(() => undefined);
  await controller?.stop();
  await pg?.stop();
  await net.cleanup();
  work.cleanup();
}
