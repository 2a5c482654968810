/** Audit events: the record of an operator change that is not a lifecycle transition. */
import type { NewEvent } from '../domain/event.ts';
import type { Machine } from '../domain/machine/machine.ts';
import { actorName, type Actor } from './actor.ts';
import { uuid } from './ids.ts';

/**
 * A succeeded `audit` event about `machine`, by `actor`, at `nowMs`. It has no from/to status: the
 * machine's status does not change. Never fails.
 */
export function auditEvent(
  actor: Actor,
  machine: Machine,
  step: string,
  message: string,
  nowMs: number,
): NewEvent {
  return {
    id: uuid(),
    kind: 'audit',
    machineId: machine.id,
    rackId: machine.rackId,
    step,
    result: 'succeeded',
    fromStatus: null,
    toStatus: null,
    actor: actorName(actor),
    message,
    data: {},
    occurredAtMs: nowMs,
  };
}
