/**
 * Polls the power state of the machines whose BMC the controller told us about, at a fixed
 * interval, and reports every observation (DESIGN.md §7: power state is polled by the agent and
 * streamed to the controller). A failing BMC yields a failed observation for that machine only;
 * it never stops the polling of the others. Parameters (secrets) are kept in memory only.
 */
import type { Clock, Logger } from '@ingot/common';
import type { PowerReport } from '../domain/commands.ts';
import { redactSecrets } from './redact.ts';
import type { PowerRegistry } from './registry.ts';

/** What the poller needs. */
export interface PowerPollerDeps {
  readonly registry: PowerRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Time between rounds. */
  readonly intervalMs: number;
  /** Longest a single query may take. */
  readonly queryTimeoutMs?: number | undefined;
  /** Queries running at once. */
  readonly concurrency?: number | undefined;
  /** Receives every observation (the session streams it to the controller). */
  readonly report: (report: PowerReport) => void;
}

/** A running poller. */
export interface PowerPoller {
  /** Sets how to reach a machine's BMC; an empty `driver` removes the machine. */
  set(machineId: string, driver: string, params: unknown): void;
  /** Machines being polled. */
  size(): number;
  /** Runs one round now (also runs on the timer). */
  poll(): Promise<void>;
  close(): void;
}

interface Target {
  readonly driver: string;
  readonly params: unknown;
}

/** Starts polling every `intervalMs` until closed. */
export function createPowerPoller(deps: PowerPollerDeps): PowerPoller {
  const targets = new Map<string, Target>();
  const abort = new AbortController();
  let running: Promise<void> | undefined;

  const queryOne = async (machineId: string, target: Target): Promise<PowerReport> => {
    const observedAtMs = (): number => deps.clock.now();
    const fail = (errorKind: PowerReport['errorKind'], message: string): PowerReport => ({
      machineId,
      ok: false,
      state: 'unknown',
      errorKind,
      message,
      observedAtMs: observedAtMs(),
    });
    const driver = deps.registry.get(target.driver);
    if (driver === undefined)
      return fail('settings', `no power driver "${target.driver}" on this rack`);
    const params = driver.parseParams(target.params);
    if (!params.ok) return fail(params.error.kind, params.error.message);
    const timeout = AbortSignal.timeout(deps.queryTimeoutMs ?? 15_000);
    const signal = AbortSignal.any([abort.signal, timeout]);
    try {
      const state = await driver.query(params.value, {
        target: { machineId, hostname: machineId },
        signal,
        pxeOnce: false,
      });
      if (!state.ok) {
        return fail(
          state.error.kind,
          redactSecrets(state.error.message, target.params, driver.secretFields),
        );
      }
      return {
        machineId,
        ok: true,
        state: state.value,
        message: `power ${state.value}`,
        observedAtMs: observedAtMs(),
      };
    } catch (error: unknown) {
      // A driver bug must not stop the round; log without the parameters.
      const text = error instanceof Error ? error.message : String(error);
      deps.logger.error('power query threw', {
        machine_id: machineId,
        driver: target.driver,
        error: redactSecrets(text, target.params, driver.secretFields),
      });
      return fail('action', 'the power driver failed; see the rack agent log');
    }
  };

  const round = async (): Promise<void> => {
    const queue = [...targets.entries()];
    const workers = Array.from(
      { length: Math.min(deps.concurrency ?? 8, queue.length) },
      async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const [machineId, target] = next;
          const report = await queryOne(machineId, target);
          // The machine may have been removed or changed meanwhile: report only what still holds.
          if (targets.get(machineId) === target && !abort.signal.aborted) deps.report(report);
        }
      },
    );
    await Promise.all(workers);
  };

  const poll = (): Promise<void> => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    poll().catch((error: unknown) => deps.logger.error('power poll round failed', { error }));
  }, deps.intervalMs);
  timer.unref();

  return {
    set(machineId, driver, params) {
      if (driver === '') targets.delete(machineId);
      else targets.set(machineId, { driver, params });
    },
    size: () => targets.size,
    poll,
    close() {
      clearInterval(timer);
      abort.abort();
    },
  };
}
