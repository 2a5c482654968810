/**
 * The chaos scenario (issue 7 must-show), shared by `test/chaos.netns.e2e.test.ts` and
 * `pnpm e2e:chaos`: a cluster (N controllers on one throwaway PostgreSQL, one agent given every
 * controller) deploys many machines while a seeded random schedule SIGKILLs the agent and the
 * controllers and restarts each after a short random delay. Afterwards the invariant checkers
 * read the stored machines and events and what each machine saw.
 *
 * Everything is bounded: the number of kills, the window they fall in, every wait. The seed is
 * printed; `CHAOS_SEED` replays a run's schedule (timing on a loaded host still varies).
 */
import { startPostgresServer } from '@ingot/controller/testing';
import { api, type Reply } from './api.ts';
import { startCluster, type Cluster, type ClusterOptions } from './cluster.ts';
import {
  createReportingMachines,
  type MachineDriver,
  type ScenarioMachine,
} from './cluster-machines.ts';
import { checkRun, readStored, summaryLine, type InvariantReport } from './invariants.ts';
import { tempDir } from './processes.ts';
import { createSeededRandom, type SeededRandom } from './cluster-random.ts';
import { registerStandInImage } from './cluster-image.ts';

/** One kill in the schedule: at `atMs` after the start, kill `target`, restart it `downMs` later. */
export interface ChaosAction {
  readonly atMs: number;
  /** `agent`, or a controller index. */
  readonly target: 'agent' | number;
  readonly downMs: number;
}

/** Options of {@link chaosSchedule}. */
export interface ScheduleOptions {
  readonly controllers: number;
  readonly kills: number;
  /** Kills fall in [0, windowMs). */
  readonly windowMs: number;
  readonly minDownMs: number;
  readonly maxDownMs: number;
  /** Include the agent among the targets (default true). */
  readonly agent?: boolean;
}

/** A seeded schedule, sorted by time. The same seed and options give the same schedule. */
export function chaosSchedule(random: SeededRandom, options: ScheduleOptions): ChaosAction[] {
  const targets: ('agent' | number)[] = [
    ...(options.agent === false ? [] : ['agent' as const]),
    ...Array.from({ length: options.controllers }, (_, i) => i),
  ];
  const actions: ChaosAction[] = [];
  for (let i = 0; i < options.kills; i++) {
    actions.push({
      atMs: Math.floor(random.next() * options.windowMs),
      target: random.pick(targets),
      downMs: random.int(options.minDownMs, options.maxDownMs),
    });
  }
  return actions.sort((a, b) => a.atMs - b.atMs);
}

/** What the executor did for one action. */
export interface PerformedAction extends ChaosAction {
  readonly startedMs: number;
  readonly pid: number | undefined;
  readonly restarted: boolean;
  readonly error?: string;
}

function targetName(t: 'agent' | number): string {
  return t === 'agent' ? 'agent' : `controller ${String(t)}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a schedule against a cluster: actions on one target run one after another (a target is
 * never killed while it is still down), different targets overlap. Resolves when every target
 * killed has been restarted (or failed to restart, which is reported).
 */
export async function runSchedule(
  cluster: Cluster,
  actions: readonly ChaosAction[],
  log: (line: string) => void,
): Promise<PerformedAction[]> {
  const start = Date.now();
  const chains = new Map<string, Promise<void>>();
  const done: PerformedAction[] = [];
  const perform = async (a: ChaosAction): Promise<void> => {
    const wait = start + a.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    const startedMs = Date.now() - start;
    const pid =
      a.target === 'agent' ? await cluster.killAgent() : await cluster.killController(a.target);
    log(
      `  +${(startedMs / 1000).toFixed(1)} s  kill -9 ${targetName(a.target)} (pid ${String(pid)}), down ${String(a.downMs)} ms`,
    );
    await sleep(a.downMs);
    let error: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (a.target === 'agent') await cluster.restartAgent();
        else await cluster.restartController(a.target);
        error = undefined;
        break;
      } catch (e) {
        error = e instanceof Error ? e.message.split('\n')[0] : String(e);
        await sleep(500);
      }
    }
    if (error !== undefined) log(`  restart of ${targetName(a.target)} failed: ${error}`);
    done.push({
      ...a,
      startedMs,
      pid,
      restarted: error === undefined,
      ...(error ? { error } : {}),
    });
  };
  for (const a of actions) {
    const name = targetName(a.target);
    chains.set(
      name,
      (chains.get(name) ?? Promise.resolve()).then(() => perform(a)),
    );
  }
  await Promise.all(chains.values());
  return done;
}

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly seed: number;
  readonly deploys: number;
  readonly controllers: number;
  readonly kills: number;
  readonly windowMs: number;
  /** Longest a whole run may take before it is cut (everything after is checked as it stands). */
  readonly runDeadlineMs: number;
  readonly log: (line: string) => void;
  /** Machines (default: the stand-in reporting machines on the agent's loopback HTTP). */
  readonly driver?: (cluster: Cluster, random: SeededRandom) => MachineDriver;
  /** Passed to startCluster (a lab's spawn for the agent, controller host …). */
  readonly cluster?: Partial<Pick<ClusterOptions, 'host' | 'agent' | 'controllerArgs'>>;
}

/** What a run found. */
export interface ChaosResult {
  readonly report: InvariantReport;
  readonly actions: readonly PerformedAction[];
  readonly outcomes: Readonly<Record<string, number>>;
  readonly summary: string;
  readonly elapsedMs: number;
}

/** One API call to whichever controller answers, tried on each in turn a bounded number of times. */
async function anyController<T>(
  cluster: Cluster,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  let last: unknown;
  for (let attempt = 0; attempt < 60; attempt++) {
    const live = cluster.controllers.filter((c) => c.proc !== undefined);
    const c = live[attempt % Math.max(1, live.length)];
    if (c !== undefined) {
      try {
        return await api<T>(c.url, key, method, path, body);
      } catch (e) {
        last = e;
      }
    }
    await sleep(250);
  }
  throw new Error(`${method} ${path}: no controller answered (${String(last)})`);
}

/**
 * One user's deploy: allocate any ready machine (an answer lost to a killed controller is found
 * again by owner), deploy it, then let the driver run the machine's side.
 */
async function deployOne(
  cluster: Cluster,
  driver: MachineDriver,
  user: { name: string; key: string },
  grants: { machineId: string; owner: string }[],
  deadlineMs: number,
): Promise<void> {
  let machine: ScenarioMachine | undefined;
  for (let attempt = 0; machine === undefined && attempt < 20; attempt++) {
    try {
      const r = await anyController<ScenarioMachine & { macs: string[] }>(
        cluster,
        user.key,
        'POST',
        '/api/v1/machines/allocate',
        {},
      );
      if (r.status === 200) {
        grants.push({ machineId: r.body.id, owner: user.name });
        machine = { id: r.body.id, hostname: r.body.hostname, mac: r.body.macs[0] ?? '' };
        break;
      }
    } catch {
      // fall through: look for a machine this user already holds
    }
    const mine = await anyController<
      (ScenarioMachine & { owner: string | null; macs: string[] })[]
    >(cluster, user.key, 'GET', '/api/v1/machines?limit=10000');
    const held = mine.body.find((m) => m.owner === user.name);
    if (held !== undefined)
      machine = { id: held.id, hostname: held.hostname, mac: held.macs[0] ?? '' };
    else await sleep(300);
  }
  if (machine === undefined) return;
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await anyController<{ status: string }>(
      cluster,
      user.key,
      'POST',
      `/api/v1/machines/${machine.id}/deploy`,
      { os: 'debian', release: 'bookworm' },
    );
    if (r.status === 202) break;
    const now = await anyController<{ status: string }>(
      cluster,
      user.key,
      'GET',
      `/api/v1/machines/${machine.id}`,
    );
    if (now.body.status !== 'allocated') break;
    await sleep(300);
  }
  await driver.run(machine, deadlineMs);
}

/** Creates `n` ready machines (manual power: the stand-in powers on by itself) and `n` users. */
async function createFleet(
  cluster: Cluster,
  n: number,
): Promise<{ users: { name: string; key: string }[] }> {
  const admin = cluster.adminKey;
  for (let i = 0; i < n; i++) {
    const mac = `52:54:00:7a:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const r = await anyController(cluster, admin, 'POST', '/api/v1/machines', {
      hostname: `chaos-${String(i)}`,
      arch: 'amd64',
      macs: [mac],
      cpu_count: 4,
      memory_mib: 8192,
      storage_gib: 100,
      commission: false,
      power: { type: 'manual', params: {} },
    });
    if (r.status !== 201) throw new Error(`machine ${String(i)}: ${JSON.stringify(r.body)}`);
  }
  const users: { name: string; key: string }[] = [];
  for (let i = 0; i < n; i++) {
    const name = `chaos-user-${String(i)}`;
    const r = await anyController<{ api_key: string }>(cluster, admin, 'POST', '/api/v1/users', {
      username: name,
      role: 'user',
    });
    if (r.status !== 201) throw new Error(`user ${name}: ${JSON.stringify(r.body)}`);
    users.push({ name, key: r.body.api_key });
  }
  return { users };
}

/** Waits (bounded) until the rack is connected and its outbox is empty, and no machine moves. */
async function settle(cluster: Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stable = 0;
  let last = '';
  while (Date.now() < deadline && stable < 3) {
    try {
      const racks = await anyController<
        { status: string; health: { outbox_depth: number } | null }[]
      >(cluster, cluster.adminKey, 'GET', '/api/v1/racks');
      const machines = await anyController<{ id: string; status: string }[]>(
        cluster,
        cluster.adminKey,
        'GET',
        '/api/v1/machines?limit=10000',
      );
      const rack = racks.body[0];
      const drained = rack?.status === 'healthy' && rack.health?.outbox_depth === 0;
      const now = machines.body.map((m) => `${m.id}:${m.status}`).join(',');
      stable = drained && now === last ? stable + 1 : 0;
      last = now;
    } catch {
      stable = 0;
    }
    await sleep(1000);
  }
}

/** Runs the whole scenario; see the module comment. Never leaves a process or database behind. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = options.log;
  const random = createSeededRandom(options.seed);
  const schedule = chaosSchedule(random, {
    controllers: options.controllers,
    kills: options.kills,
    windowMs: options.windowMs,
    minDownMs: 300,
    maxDownMs: 3000,
  });
  log(`chaos: seed ${String(options.seed)} (replay with CHAOS_SEED=${String(options.seed)})`);
  log(
    `chaos: ${String(options.deploys)} deploys, ${String(options.controllers)} controllers on one PostgreSQL, ` +
      `1 agent, ${String(schedule.length)} kills within ${String(options.windowMs / 1000)} s`,
  );
  const postgres = await startPostgresServer();
  const work = tempDir('chaos');
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      databaseUrl: await postgres.createDatabase(),
      controllers: options.controllers,
      workDir: work.path,
      controllerArgs: ['--deploy-timeout', '4m', ...(options.cluster?.controllerArgs ?? [])],
      ...(options.cluster?.host === undefined ? {} : { host: options.cluster.host }),
      ...(options.cluster?.agent === undefined ? {} : { agent: options.cluster.agent }),
    });
    const c = cluster;
    await registerStandInImage(c.live().url, c.adminKey);
    await c.waitForSessionHolder();
    const { users } = await createFleet(c, options.deploys);
    const machineRandom = createSeededRandom(options.seed ^ 0x5eed);
    const driver =
      options.driver?.(c, machineRandom) ??
      createReportingMachines({
        agentUrl: () => c.agent?.url ?? '',
        stepDelayMs: () => machineRandom.int(50, 600),
      });
    const grants: { machineId: string; owner: string }[] = [];
    const deadline = started + options.runDeadlineMs;
    log('chaos: schedule');
    const [actions] = await Promise.all([
      runSchedule(c, schedule, log),
      Promise.all(users.map((u) => deployOne(c, driver, u, grants, deadline))),
    ]);
    // Whatever is still down comes back before the run is judged.
    for (let i = 0; i < c.controllers.length; i++) await c.restartController(i);
    await c.restartAgent();
    await settle(c, Math.max(30_000, deadline - Date.now()));
    const stored = await readStored(c.live().url, c.adminKey);
    const machines = stored.machines.filter((m) => m.hostname.startsWith('chaos-'));
    const report = checkRun(
      { machines, events: stored.events, sims: driver.timelines(), grants, leaseSeconds: 600 },
      { onceSteps: ['power.on'], onceTransitions: true },
    );
    const outcomes: Record<string, number> = {};
    for (const m of machines) outcomes[m.status] = (outcomes[m.status] ?? 0) + 1;
    return {
      report,
      actions,
      outcomes,
      summary: summaryLine(report),
      elapsedMs: Date.now() - started,
    };
  } finally {
    await cluster?.close();
    await postgres.stop();
    work.cleanup();
  }
}

/** The human report of a run, ending with the summary line. */
export function chaosReport(result: ChaosResult): string[] {
  const lines = [
    `chaos: ${String(result.actions.length)} kills performed, ` +
      `${String(result.actions.filter((a) => !a.restarted).length)} failed restarts`,
    `chaos: outcomes ${Object.entries(result.outcomes)
      .map(([s, n]) => `${s} ${String(n)}`)
      .join(', ')} in ${(result.elapsedMs / 1000).toFixed(1)} s`,
  ];
  for (const v of result.report.violations.slice(0, 40)) {
    lines.push(`  ${v.invariant}: ${v.machineId ?? '-'} ${v.detail}`);
  }
  if (result.report.violations.length > 40) {
    lines.push(`  … ${String(result.report.violations.length - 40)} more`);
  }
  lines.push(result.summary);
  return lines;
}
