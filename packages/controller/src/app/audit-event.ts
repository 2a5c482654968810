/** Audit events: the record of a change that is not a lifecycle transition. */
import type { NewEvent } from '../domain/event.ts';
import type { Machine } from '../domain/machine/machine.ts';
import { actorName, type Actor } from './actor.ts';
import { uuid } from './ids.ts';

/** What an audit event is about, beyond who, what and when. */
export interface AuditSubject {
  readonly machineId?: string | null | undefined;
  readonly rackId?: string | null | undefined;
  readonly data?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A succeeded `audit` event by `actor` at `nowMs`, about whatever `subject` names (a machine, a
 * rack, or nothing: users, subnets, images). It has no from/to status. Never fails.
 */
export function newAuditEvent(
  actor: Actor,
  step: string,
  message: string,
  nowMs: number,
  subject: AuditSubject = {},
): NewEvent {
  return {
    id: uuid(),
    kind: 'audit',
    machineId: subject.machineId ?? null,
    rackId: subject.rackId ?? null,
    step,
    result: 'succeeded',
    fromStatus: null,
    toStatus: null,
    actor: actorName(actor),
    message,
    data: subject.data ?? {},
    occurredAtMs: nowMs,
  };
}

/** An audit event about `machine` (its status does not change). */
export function auditEvent(
  actor: Actor,
  machine: Machine,
  step: string,
  message: string,
  nowMs: number,
): NewEvent {
  return newAuditEvent(actor, step, message, nowMs, {
    machineId: machine.id,
    rackId: machine.rackId,
  });
}
