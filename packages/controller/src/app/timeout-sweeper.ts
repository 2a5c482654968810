/**
 * Ends busy statuses that ran out of time (DESIGN.md §2: never a silent hang). Deadlines live in
 * the store with each machine, so a restarted controller — or any controller of several — finds
 * and ends them.
 */
import type { Clock, Logger } from '@ingot/common';
import type { Machine } from '../domain/machine/machine.ts';
import { SYSTEM } from './actor.ts';
import type { MachineService } from './machine-service.ts';
import type { Store } from './ports.ts';

/** Ends every overdue status once. Returns how many machines timed out. */
export async function sweepTimeouts(deps: {
  store: Store;
  machines: MachineService;
  clock: Clock;
  logger: Logger;
}): Promise<number> {
  const overdue = await deps.store.machinesPastDeadline(deps.clock.now(), 100);
  let count = 0;
  for (const machine of overdue) {
    const result = await deps.machines.act(SYSTEM, machine.id, 'timeout', {
      message: timeoutMessage(machine),
      data: { lastStep: machine.lastStep },
    });
    if (result.ok) count++;
    else
      deps.logger.warn('timeout sweep could not end status', {
        machine_id: machine.id,
        error: result.error.kind,
      });
  }
  return count;
}

function timeoutMessage(machine: Machine): string {
  const last = machine.lastStep;
  const lastText =
    last === null
      ? 'no step was reported'
      : `last step ${last.step} ${last.result}${last.message ? `: ${last.message}` : ''}`;
  return `Timed out in ${machine.status}; ${lastText}`;
}

/**
 * Runs {@link sweepTimeouts} every `intervalMs` until `signal` aborts, on the ticks when
 * `isLeader()` says so: of several controllers on one database only the leader sweeps
 * (`cluster/leadership.ts`), and another takes over when it dies. Two sweeping at once for a
 * moment is harmless — each timeout is a version-checked transition — only wasted work.
 */
export function startTimeoutSweeper(
  deps: Parameters<typeof sweepTimeouts>[0],
  intervalMs: number,
  signal: AbortSignal,
  isLeader: () => boolean = () => true,
): void {
  let running = false;
  const timer = setInterval(() => {
    if (running || !isLeader()) return;
    running = true;
    sweepTimeouts(deps)
      .catch((e: unknown) => deps.logger.error('timeout sweep failed', { error: e }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
