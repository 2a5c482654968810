/**
 * Machines for the resilience scenarios, and the stand-in used until (or where) the fleet
 * simulator is not available: a "reporting machine" that makes the steps of a disk deploy the
 * way the boot environment reports them — `POST /api/v1/machine-events` to the rack agent — and
 * keeps going while the agent and the controllers are killed: a report the agent did not answer
 * is sent again after a short pause, bounded in count and time. It records what it saw, in the
 * shape the invariant checkers read (`SimMachine`).
 *
 * What it does not do: DHCP, TFTP and HTTP fetches (the fleet simulator speaks those). Its
 * machines hold no addresses, so `double-ip` is only checked on what the agent leased.
 */
import type { SimMachine, SimStep } from './invariants.ts';

/** A machine the scenario deploys. */
export interface ScenarioMachine {
  readonly id: string;
  readonly mac: string;
  readonly hostname: string;
}

/** What drives machines through their deploy once the controller has been asked to deploy. */
export interface MachineDriver {
  /** Runs one machine's side of a deploy until it is done or `deadlineMs` (epoch) passes. */
  run(machine: ScenarioMachine, deadlineMs: number): Promise<void>;
  /** What every machine saw so far. */
  timelines(): SimMachine[];
}

/** The steps a reporting machine makes, in order (DESIGN.md §3, minus what the agent records). */
export const REPORTED_STEPS = [
  'boot.kernel',
  'boot.initrd',
  'boot.squashfs',
  'install.storage',
  'install.image',
  'install.bootloader',
  'install.reboot',
  'deployed',
] as const;

/** Options of {@link createReportingMachines}. */
export interface ReportingOptions {
  /** Base URL of the agent's machine-facing HTTP server (read at each attempt: it may move). */
  readonly agentUrl: () => string;
  /** Pause between a machine's steps, drawn per step (ms). */
  readonly stepDelayMs: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Creates the stand-in driver; see the module comment. */
export function createReportingMachines(options: ReportingOptions): MachineDriver {
  const seen = new Map<string, SimStep[]>();

  /** One report, sent until the agent answers 202, the step is refused for good, or time runs out. */
  async function report(machine: ScenarioMachine, step: string, deadlineMs: number): Promise<void> {
    const record = { step, result: 'succeeded', ids: [] as string[], acknowledged: false };
    let sent = false;
    for (let attempt = 0; attempt < 2000 && Date.now() < deadlineMs; attempt++) {
      let status: number | undefined;
      let id: string | undefined;
      try {
        const res = await fetch(`${options.agentUrl()}/api/v1/machine-events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ machine_id: machine.id, step, result: 'succeeded' }),
          signal: AbortSignal.timeout(5000),
        });
        status = res.status;
        const body = (await res.json()) as { id?: unknown };
        if (typeof body.id === 'string') id = body.id;
      } catch {
        // The agent is down or died mid-request: the report may or may not be in its outbox.
        status = undefined;
      }
      if (status === 202 && id !== undefined) {
        record.ids.push(id);
        record.acknowledged = true;
        break;
      }
      // 404: no boot plan for the machine at the agent yet (the deploy has not reached it), so
      // nothing was recorded. Anything else may have been: it counts as sent.
      if (status !== 404) sent = true;
      await sleep(150 + (attempt % 5) * 50);
    }
    if (sent || record.acknowledged) seen.get(machine.id)?.push(record);
  }

  return {
    async run(machine, deadlineMs) {
      seen.set(machine.id, []);
      for (const step of REPORTED_STEPS) {
        if (Date.now() >= deadlineMs) return;
        await report(machine, step, deadlineMs);
        await sleep(options.stepDelayMs());
      }
    },
    timelines() {
      return [...seen].map(([machineId, steps]) => ({
        machineId,
        steps: [...steps],
        addresses: [],
      }));
    },
  };
}
