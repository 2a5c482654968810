import { randomUUID } from 'node:crypto';
import type { Clock, Logger, StepResult } from '@ingot/common';
import type { LeaseEvent, StatusEvent } from '../domain/events.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import type { AgentStore } from '../state/agent-store.ts';

/** A status event before it gets its id and timestamp. */
export interface NewStatusEvent {
  readonly machineId?: string;
  readonly mac?: MacAddress;
  readonly step: string;
  readonly result: StepResult;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A lease event before it gets its id and timestamp. */
export type NewLeaseEvent = Omit<LeaseEvent, 'id' | 'occurredAtMs'>;

/**
 * The one way events enter the outbox. Each `record*` call returns after the row is committed;
 * listeners (the session) are told afterwards so they send it right away when connected.
 */
export interface EventRecorder {
  recordStatus(input: NewStatusEvent): StatusEvent;
  recordLease(input: NewLeaseEvent): LeaseEvent;
  /** Called after every committed append; returns an unsubscribe function. */
  onAppend(listener: () => void): () => void;
}

/** What a recorder needs. `newId` defaults to random UUIDs. */
export interface EventRecorderDeps {
  readonly store: AgentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newId?: () => string;
}

/** Creates the agent's {@link EventRecorder}. */
export function createEventRecorder(deps: EventRecorderDeps): EventRecorder {
  const newId = deps.newId ?? randomUUID;
  const listeners = new Set<() => void>();

  const notify = (): void => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error: unknown) {
        // A listener bug must not turn a committed append into a failed one for the caller.
        deps.logger.error('outbox listener failed', { error });
      }
    }
  };

  return {
    recordStatus(input) {
      const event: StatusEvent = {
        id: newId(),
        machineId: input.machineId ?? '',
        mac: input.mac ?? '',
        step: input.step,
        result: input.result,
        message: input.message,
        occurredAtMs: deps.clock.now(),
        data: input.data ?? {},
      };
      deps.store.appendOutbox({ kind: 'status', event });
      notify();
      return event;
    },
    recordLease(input) {
      const event: LeaseEvent = { ...input, id: newId(), occurredAtMs: deps.clock.now() };
      deps.store.appendOutbox({ kind: 'lease', event });
      notify();
      return event;
    },
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
