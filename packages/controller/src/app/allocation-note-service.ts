/**
 * Allocation notes (MAAS's `agent_name` and `owner_data`): read by whoever may see the machine,
 * written by its owner (or an admin) while it is allocated. The lifecycle forgets them with the
 * owner (`clear-owner` in `transition-runner.ts`).
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import { patchOwnerData, type AllocationNotes } from '../domain/machine/allocation-notes.ts';
import { mayActOn, maySee } from '../domain/user.ts';
import type { Actor } from './actor.ts';
import { auditEvent } from './audit-event.ts';
import type { EventBus, Store } from './ports.ts';

/** Dependencies of {@link AllocationNoteService}. */
export interface AllocationNoteServiceDeps {
  readonly store: Store;
  /** Audit events for each change go out here (`step` `notes.owner-data`, `notes.agent-name`). */
  readonly bus: EventBus;
  readonly clock: Clock;
}

/** The allocation-note use cases. */
export class AllocationNoteService {
  readonly #d: AllocationNoteServiceDeps;

  constructor(deps: AllocationNoteServiceDeps) {
    this.#d = deps;
  }

  /** The notes of machines the caller already sees (listing), by machine id. */
  async forMachines(ids: readonly string[]): Promise<Map<string, AllocationNotes>> {
    const notes = new Map<string, AllocationNotes>();
    for (const id of ids) notes.set(id, await this.#d.store.getAllocationNotes(id));
    return notes;
  }

  /** Changes owner data: a key given `null` or `''` is removed, others set. */
  async setOwnerData(
    actor: Actor,
    machineId: string,
    patch: Readonly<Record<string, string | null>>,
  ): Promise<Result<AllocationNotes, DomainError>> {
    const keys = Object.keys(patch).sort().join(', ');
    return this.#write(
      actor,
      machineId,
      'notes.owner-data',
      `Set owner data: ${keys}`,
      (current) => {
        const ownerData = patchOwnerData(current.ownerData, patch);
        return ownerData.ok ? ok({ ...current, ownerData: ownerData.value }) : ownerData;
      },
    );
  }

  /** Records the agent that allocated the machine (`null` forgets it). */
  async setAgentName(
    actor: Actor,
    machineId: string,
    agentName: string | null,
  ): Promise<Result<AllocationNotes, DomainError>> {
    if (agentName !== null && (agentName.length === 0 || agentName.length > 255)) {
      return err({
        kind: 'invalid',
        field: 'agent_name',
        detail: 'agent names are 1–255 characters',
      });
    }
    const message = agentName === null ? 'Cleared the agent name' : `Agent name ${agentName}`;
    return this.#write(actor, machineId, 'notes.agent-name', message, (current) =>
      ok({ ...current, agentName }),
    );
  }

  async #write(
    actor: Actor,
    machineId: string,
    step: string,
    message: string,
    change: (current: AllocationNotes) => Result<AllocationNotes, DomainError>,
  ): Promise<Result<AllocationNotes, DomainError>> {
    const now = this.#d.clock.now();
    const published: Parameters<EventBus['publish']>[0][] = [];
    const result = await this.#d.store.transaction(
      async (tx): Promise<Result<AllocationNotes, DomainError>> => {
        const machine = await tx.getMachine(machineId);
        const user = actor.kind === 'user' ? actor.user : undefined;
        if (machine === undefined || (user !== undefined && !maySee(user, machine.ownerId))) {
          return err({ kind: 'not-found', entity: 'machine', id: machineId });
        }
        if (user !== undefined && !mayActOn(user, machine.ownerId)) {
          return err({ kind: 'forbidden', detail: `machine ${machineId} is not allocated to you` });
        }
        if (machine.ownerId === null) {
          return err({
            kind: 'conflict',
            detail: `machine ${machineId} is ${machine.status}: only allocated machines carry owner data`,
          });
        }
        const next = change(await tx.getAllocationNotes(machineId));
        if (next.ok) {
          await tx.putAllocationNotes(machineId, next.value);
          published.push(
            await tx.appendEvents([auditEvent(actor, machine, step, message, now)], now),
          );
        }
        return next;
      },
    );
    for (const events of published) this.#d.bus.publish(events);
    return result;
  }
}
