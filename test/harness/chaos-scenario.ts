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
import { startCluster, type Cluster } from './cluster.ts';
import { createReportingMachines, type MachineDriver } from './cluster-machines.ts';
import { createStandInMachines, createUsers, deployOne, settle } from './cluster-deploys.ts';
import { explainMachine, fleetDriver, startFleetCluster } from './cluster-fleet.ts';
import {
  checkRun,
  readStored,
  summaryLine,
  type AllocationGrant,
  type InvariantReport,
  type StoredEvent,
} from './invariants.ts';
import { tempDir } from './processes.ts';
import { createSeededRandom, type SeededRandom } from './cluster-random.ts';
import { registerStandInImage } from './cluster-image.ts';
import { explainFailure, groupCauses, type TracedStep } from './chaos-failures.ts';

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
      // Every target is killed at least once when there are kills enough; the rest at random.
      target: i < targets.length ? (targets[i] ?? 'agent') : random.pick(targets),
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
  /**
   * `fleet` (default): the fleet simulator in its namespaces — real DHCP, TFTP, HTTP and
   * metadata through the agent. `stand-in`: reporting machines on loopback (no netns needed).
   */
  readonly machines?: 'fleet' | 'stand-in';
  /** Pause per simulated installer step (fleet), to stretch deploys across the kills. */
  readonly stepDelayMs?: number;
}

/** What a run found. */
export interface ChaosResult {
  readonly report: InvariantReport;
  readonly actions: readonly PerformedAction[];
  readonly outcomes: Readonly<Record<string, number>>;
  /** Why machines failed: status message → count. */
  readonly failures: Readonly<Record<string, number>>;
  readonly summary: string;
  readonly elapsedMs: number;
  /** For the first machine with a violation (fleet machines): what it saw, what was stored. */
  readonly explanation?: string;
  /**
   * Fleet machines that ended `failed_*`: what each last did as the simulator saw it and the
   * kills just before (chaos-failures.ts), and those causes counted.
   */
  readonly failedMachines: readonly string[];
  readonly failedBy: readonly (readonly [string, number])[];
}

/** A cluster with machines, whichever kind. */
interface Site {
  readonly cluster: Cluster;
  readonly driver: MachineDriver;
  readonly image: { os: string; release: string };
  explain?(events: readonly StoredEvent[], machineId: string): string;
  /** What a simulated machine did (fleet machines only). */
  trace?(machineId: string): readonly TracedStep[];
  close(): Promise<void>;
}

async function startSite(
  options: ChaosOptions,
  databaseUrl: string,
  workDir: string,
  random: SeededRandom,
): Promise<Site> {
  const controllerArgs = ['--deploy-timeout', '5m'];
  if (options.machines === 'stand-in') {
    const cluster = await startCluster({
      databaseUrl,
      controllers: options.controllers,
      workDir,
      controllerArgs,
    });
    try {
      await registerStandInImage(cluster.live().url, cluster.adminKey);
      await createStandInMachines(cluster, options.deploys);
    } catch (e) {
      await cluster.close();
      throw e;
    }
    const driver = createReportingMachines({
      agentUrl: () => cluster.agent?.url ?? '',
      stepDelayMs: () => random.int(50, 600),
    });
    const image = { os: 'debian', release: 'bookworm' };
    return { cluster, driver, image, close: () => cluster.close() };
  }
  const site = await startFleetCluster({
    databaseUrl,
    controllers: options.controllers,
    workDir,
    machines: options.deploys,
    controllerArgs,
    stepDelayMs: options.stepDelayMs ?? 200,
  });
  return {
    cluster: site.cluster,
    driver: fleetDriver(site.cluster, site.fleet, site.agentKills),
    image: { os: 'fleet', release: 'sim' },
    explain: (events, id) => explainMachine(site.fleet, events, id),
    trace: (id) => site.fleet.timeline(id),
    close: () => site.close(),
  };
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
    `chaos: ${String(options.deploys)} deploys (${options.machines ?? 'fleet'} machines), ` +
      `${String(options.controllers)} controllers on one PostgreSQL, 1 agent, ` +
      `${String(schedule.length)} kills within ${String(options.windowMs / 1000)} s`,
  );
  const postgres = await startPostgresServer();
  const work = tempDir('chaos');
  let site: Site | undefined;
  // Interrupted (Ctrl-C, a CI timeout): stop what this run started before exiting.
  const onSignal = (): void => {
    void (async () => {
      await site?.close();
      await postgres.stop();
      work.cleanup();
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    site = await startSite(
      options,
      await postgres.createDatabase(),
      work.path,
      createSeededRandom(options.seed ^ 0x5eed),
    );
    const { cluster: c, driver, image } = site;
    await c.waitForSessionHolder();
    const users = await createUsers(c, options.deploys);
    const grants: AllocationGrant[] = [];
    const deadline = started + options.runDeadlineMs;
    log('chaos: schedule');
    // runSchedule's kill times count from here (it reads the clock first thing).
    const scheduleStart = Date.now();
    const [actions] = await Promise.all([
      runSchedule(c, schedule, log),
      Promise.all(
        users.map((u) =>
          deployOne(c, driver, u, grants, deadline, image).catch((e: unknown) => {
            // Left as it stands: the outcome checker reports the machine.
            log(`  ${u.name} gave up: ${e instanceof Error ? e.message : String(e)}`);
          }),
        ),
      ),
    ]);
    // Whatever is still down comes back before the run is judged.
    for (let i = 0; i < c.controllers.length; i++) await c.restartController(i);
    await c.restartAgent();
    await settle(c, Math.max(30_000, deadline - Date.now()));
    const stored = await readStored(c.live().url, c.adminKey);
    const report = checkRun(
      {
        machines: stored.machines,
        events: stored.events,
        sims: driver.timelines(),
        grants,
      },
      { onceSteps: ['power.on:succeeded'], onceTransitions: true },
    );
    const outcomes: Record<string, number> = {};
    const failures: Record<string, number> = {};
    for (const m of stored.machines) {
      outcomes[m.status] = (outcomes[m.status] ?? 0) + 1;
      if (!m.status.startsWith('failed_')) continue;
      // Machine-specific parts (paths, addresses, numbers) folded so equal causes group.
      const reason = m.status_message.replace(/[0-9a-f]{16,}|\d+(\.\d+)*/g, '…').slice(0, 160);
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
    const failed = stored.machines.filter((m) => m.status.startsWith('failed_'));
    const traced = site;
    const explained =
      traced.trace === undefined
        ? []
        : failed.map((m) =>
            explainFailure(m.id, m.status, traced.trace?.(m.id) ?? [], actions, scheduleStart),
          );
    const first = report.violations.find((v) => v.machineId !== null)?.machineId;
    const explanation =
      first === undefined || first === null ? undefined : site.explain?.(stored.events, first);
    return {
      report,
      actions,
      outcomes,
      failures,
      summary: summaryLine(report),
      elapsedMs: Date.now() - started,
      failedMachines: explained.map((e) => e.line),
      failedBy: groupCauses(explained),
      ...(explanation === undefined ? {} : { explanation }),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await site?.close();
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
  for (const [reason, n] of Object.entries(result.failures).sort((a, b) => b[1] - a[1])) {
    lines.push(`  failed ×${String(n)}: ${reason}`);
  }
  if (result.failedBy.length > 0) {
    lines.push(
      `chaos: failed machines by what they last did (simulator): ${result.failedBy
        .map(([cause, n]) => `${cause} ×${String(n)}`)
        .join(', ')}`,
    );
  }
  for (const line of result.failedMachines.slice(0, 30)) lines.push(line);
  if (result.failedMachines.length > 30) {
    lines.push(`  … ${String(result.failedMachines.length - 30)} more failed machines`);
  }
  for (const v of result.report.violations.slice(0, 40)) {
    lines.push(`  ${v.invariant}: ${v.machineId ?? '-'} ${v.detail}`);
  }
  if (result.report.violations.length > 40) {
    lines.push(`  … ${String(result.report.violations.length - 40)} more`);
  }
  if (result.explanation !== undefined) lines.push(result.explanation);
  lines.push(result.summary);
  return lines;
}
