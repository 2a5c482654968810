/**
 * The compare-and-set write loop of the machine use cases: load, change, commit; start again when
 * another writer bumped the machine's version first.
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import type { Machine } from '../domain/machine/machine.ts';
import { maySee } from '../domain/user.ts';
import type { Actor } from './actor.ts';
import type { EventBus, RackNotifier, Store } from './ports.ts';

/** How often a write is tried before giving up with `conflict`. */
const MAX_CAS_RETRIES = 8;

/** What one attempt of a machine write produced, to commit. */
export interface MachineWrite {
  readonly machine: Machine;
  readonly events: NewEvent[];
  readonly racksToNotify: string[];
  /**
   * Events the attempt appended itself (to claim an id before changing anything, as a metadata
   * report with an id does); published with `events` after the commit.
   */
  readonly appended?: readonly EventRecord[];
}

/** Thrown inside the transaction to roll back a stale attempt (whatever it wrote before). */
class StaleAttempt extends Error {}

/**
 * One attempt: checks and changes `machine` inside transaction `tx`. Returns `stale` (from a
 * failed `updateMachine` compare-and-set) to be run again on fresh data.
 */
export type MachineWriteAttempt = (
  machine: Machine,
  tx: Store,
  nowMs: number,
) => Promise<Result<MachineWrite, DomainError>>;

/** What {@link retryMachineWrite} needs. */
export interface MachineWriteDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly racks: RackNotifier;
  readonly clock: Clock;
}

/**
 * Loads machine `id`, runs `attempt` in a transaction and appends its events, retrying when
 * another writer got there first (compare-and-set on the version); after the commit, publishes the
 * events and wakes the rack sessions named. Fails with `not-found` when the machine does not exist
 * or `actor` may not see it, with the attempt's own error, or with `conflict` after
 * {@link MAX_CAS_RETRIES} stale attempts.
 */
export async function retryMachineWrite(
  deps: MachineWriteDeps,
  id: string,
  actor: Actor,
  attempt: MachineWriteAttempt,
): Promise<Result<Machine, DomainError>> {
  for (let tries = 0; tries < MAX_CAS_RETRIES; tries++) {
    const now = deps.clock.now();
    const outcome = await deps.store
      .transaction(async (tx) => {
        const machine = await tx.getMachine(id);
        if (
          machine === undefined ||
          (actor.kind === 'user' && !maySee(actor.user, machine.ownerId))
        ) {
          return {
            result: err<DomainError>({ kind: 'not-found', entity: 'machine', id }),
            stored: [] as EventRecord[],
          };
        }
        const result = await attempt(machine, tx, now);
        // Stale: roll back what the attempt wrote before it found out, and run it again.
        if (!result.ok && result.error.kind === 'stale') throw new StaleAttempt();
        if (!result.ok) return { result, stored: [] as EventRecord[] };
        const stored = [
          ...(result.value.appended ?? []),
          ...(await tx.appendEvents(result.value.events, now)),
        ];
        return { result, stored };
      })
      .catch((e: unknown) => {
        if (e instanceof StaleAttempt) return undefined;
        throw e;
      });
    if (outcome === undefined) continue;
    const { result, stored } = outcome;
    if (!result.ok) return result;
    deps.bus.publish(stored);
    for (const rackId of result.value.racksToNotify) deps.racks.commandsQueued(rackId);
    return ok(result.value.machine);
  }
  return err({ kind: 'conflict', detail: `machine ${id} is changing too fast; try again` });
}
