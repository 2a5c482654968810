/**
 * The fleet simulator (`@ingot/fleet-sim`) as the machines of a resilience scenario: the cluster's
 * controllers listen on the fleet network's uplink, the fleet starts the one agent inside its
 * namespace (with every controller's address), and the cluster kills and restarts that agent
 * through the fleet. Simulated machines speak real DHCP, TFTP, HTTP and metadata to it.
 *
 * {@link fleetSims} turns what each simulated machine saw into the checkers' `SimMachine`.
 */
import { createFleetNetwork, startFleet, type Fleet, type FleetNetwork } from '@ingot/fleet-sim';
import { startCluster, type Cluster } from './cluster.ts';
import { parsePrometheusText, sampleValue } from './prometheus-text.ts';
import type { MachineDriver } from './cluster-machines.ts';
import { anyController } from './cluster-deploys.ts';
import type { AddressGrant, SimMachine, SimStep, StoredEvent } from './invariants.ts';

/** Installer event results as the controller stores them (domain/metadata/reporting.ts). */
const RESULTS: Readonly<Record<string, string>> = {
  start: 'started',
  '': 'started',
  SUCCESS: 'succeeded',
  FAIL: 'failed',
  WARN: 'info',
};

/** Simulator trace steps that are a fetch the agent records as a `boot.*` step. */
const FETCHES: Readonly<Record<string, string>> = {
  'tftp.nbp': 'boot.nbp',
  'http.config': 'boot.config',
  'http.kernel': 'boot.kernel',
  'http.initrd': 'boot.initrd',
  'http.squashfs': 'boot.squashfs',
  // The installer's root image download: the agent serves it from its image cache and records
  // it as the image file it is (a squashfs).
  image: 'boot.squashfs',
};

/**
 * A boot fetch the machine saw complete this close to an agent SIGKILL may have no event: the
 * client has the last byte, the agent died before its completion callback wrote the outbox row
 * (seed 260064819: completions +0.0…+0.1 s after the kill; `started` stored, `succeeded` not).
 * Before: the agent's callback may lag the client's completion on a loaded host.
 */
export const AGENT_KILL_RACE = { beforeMs: 500, afterMs: 250 } as const;

/**
 * What each machine of `fleet` saw, as the invariant checkers read it. `agentKills` (epoch ms):
 * fetches completed within {@link AGENT_KILL_RACE} of one count as not acknowledged (may or
 * may not be stored), as a report the installer gave up on does.
 */
export function fleetSims(
  fleet: Fleet,
  ids?: readonly string[],
  agentKills: readonly number[] = [],
): SimMachine[] {
  const wanted = ids === undefined ? undefined : new Set(ids);
  const out: SimMachine[] = [];
  for (const m of fleet.machines) {
    if (wanted !== undefined && !wanted.has(m.id)) continue;
    const steps: SimStep[] = [];
    const addresses: AddressGrant[] = [];
    for (const t of fleet.timeline(m.id)) {
      if (t.step.startsWith('event:')) {
        // `event:<name>:<start|SUCCESS|FAIL|WARN>`, traced once the metadata service took it.
        const cut = t.step.lastIndexOf(':');
        const name = t.step.slice('event:'.length, cut);
        const result = RESULTS[t.step.slice(cut + 1)] ?? t.step.slice(cut + 1);
        steps.push({ step: name, result, ids: [], acknowledged: true });
      } else if (t.step === 'event-lost') {
        // The installer gave up on a report: it may or may not have been stored.
        const name = typeof t.detail?.['name'] === 'string' ? t.detail['name'] : '';
        const raw = typeof t.detail?.['result'] === 'string' ? t.detail['result'] : '';
        steps.push({ step: name, result: RESULTS[raw] ?? raw, ids: [], acknowledged: false });
      } else if (/^dhcp\.[a-z-]+$/.test(t.step) && typeof t.detail?.['ip'] === 'string') {
        steps.push({
          step: 'dhcp.ack',
          result: 'succeeded',
          ids: [],
          acknowledged: true,
          atLeast: true,
        });
        addresses.push({
          machineId: m.id,
          ip: t.detail['ip'],
          fromMs: t.at,
          untilMs: Infinity,
          source: `simulator ${t.step}`,
        });
      } else {
        const step = FETCHES[t.step];
        if (step !== undefined) {
          const racedKill = agentKills.some(
            (k) => t.at >= k - AGENT_KILL_RACE.beforeMs && t.at <= k + AGENT_KILL_RACE.afterMs,
          );
          steps.push({ step, result: 'succeeded', ids: [], acknowledged: !racedKill });
        }
      }
    }
    out.push({ machineId: m.id, steps, addresses });
  }
  return out;
}

/** A cluster whose agent and machines are the fleet simulator's. */
export interface FleetCluster {
  readonly cluster: Cluster;
  readonly fleet: Fleet;
  readonly network: FleetNetwork;
  /** When the agent was SIGKILLed through the cluster (epoch ms). */
  readonly agentKills: readonly number[];
  close(): Promise<void>;
}

/** Options of {@link startFleetCluster}. */
export interface FleetClusterOptions {
  readonly databaseUrl: string;
  readonly controllers: number;
  readonly workDir: string;
  readonly machines: number;
  readonly controllerArgs?: readonly string[];
  /** Pause per installer step (stretches deploys so kills land mid-way). */
  readonly stepDelayMs?: number;
  readonly log?: (line: string) => void;
}

/** Starts the fleet network, the controllers on its uplink, then the fleet and its agent. */
export async function startFleetCluster(options: FleetClusterOptions): Promise<FleetCluster> {
  const network = await createFleetNetwork();
  let cluster: Cluster | undefined;
  let fleet: Fleet | undefined;
  const close = async (): Promise<void> => {
    await fleet?.close();
    await cluster?.close();
    await network.cleanup();
  };
  try {
    cluster = await startCluster({
      databaseUrl: options.databaseUrl,
      controllers: options.controllers,
      workDir: options.workDir,
      host: network.controllerHost,
      agent: false,
      ...(options.controllerArgs === undefined ? {} : { controllerArgs: options.controllerArgs }),
    });
    const c = cluster;
    fleet = await startFleet({
      network,
      controllers: c.controllers.map((s) => ({ url: s.url, grpc: s.grpc })),
      adminKey: c.adminKey,
      machines: options.machines,
      // Every controller's HTTP side, paired in order with the gRPC addresses: the agent's
      // metadata proxy and image downloads follow the controller it is connected to.
      agentArgs: ['--controller-http', c.controllers.map((s) => s.url).join(',')],
      ...(options.stepDelayMs === undefined ? {} : { stepDelayMs: options.stepDelayMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    const agent = fleet.agent;
    const agentKills: number[] = [];
    c.attachAgent({
      get pid() {
        return agent.pid;
      },
      kill: () => {
        agentKills.push(Date.now());
        return agent.stop('SIGKILL');
      },
      start: () => agent.start(),
    });
    return { cluster: c, fleet, network, agentKills, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The fleet as a scenario's machine driver: a simulated machine boots by itself once the
 * controller powers it on, so `run` only waits (bounded, polling any live controller) until the
 * machine's deploy has ended.
 */
export function fleetDriver(
  cluster: Cluster,
  fleet: Fleet,
  agentKills: readonly number[] = [],
): MachineDriver {
  return {
    async run(machine, deadlineMs) {
      while (Date.now() < deadlineMs) {
        try {
          const r = await anyController<{ status: string }>(
            cluster,
            cluster.adminKey,
            'GET',
            `/api/v1/machines/${machine.id}`,
          );
          if (r.body.status === 'deployed' || r.body.status.startsWith('failed_')) return;
        } catch {
          // no controller answered this round
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    },
    timelines: () => fleetSims(fleet, undefined, agentKills),
  };
}

/**
 * What a simulated machine saw and what was stored for it, two lines for a report, with times:
 * tells a checker's miscount from a real loss or duplicate.
 */
export function explainMachine(fleet: Fleet, events: readonly StoredEvent[], id: string): string {
  const trace = fleet.timeline(id);
  const origin = trace[0]?.at ?? 0;
  const rel = (ms: number): string => `+${((ms - origin) / 1000).toFixed(1)}`;
  const saw = trace.map((t) => `${t.step}@${rel(t.at)}`).join(' ');
  const stored = events
    .filter((e) => e.machine_id === id)
    .map((e) => {
      const kind = e.kind === 'step' ? '' : `(${e.kind})`;
      const at = e.occurred_at === null ? '?' : rel(Date.parse(e.occurred_at));
      const rec = e.recorded_at === undefined ? '' : `/${rel(Date.parse(e.recorded_at))}`;
      return `${e.step}:${e.result}${kind}@${at}${rec}`;
    })
    .join(' ');
  return `${id} saw (s after its first step): ${saw}\n${id} stored (@occurred/recorded): ${stored}`;
}

/** Events the fleet's agent holds undelivered, read from its own `/metrics` (through the uplink). */
export async function agentOutbox(network: FleetNetwork): Promise<number> {
  const res = await fetch(`http://${network.lab.uplink?.labAddress ?? ''}:5248/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  return sampleValue(parsePrometheusText(await res.text()), 'ingot_outbox_events');
}
