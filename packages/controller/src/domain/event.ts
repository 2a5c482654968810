/**
 * Events: the controller's record of everything that happened to a machine or rack. Every
 * lifecycle transition writes one (who, when, from, to, why); every deployment step a rack
 * reports is one; every admin action is one (audit).
 */
import type { StepResult } from '@ingot/common';
import type { MachineStatus } from './machine/lifecycle.ts';

/** What an event records. */
export const EVENT_KINDS = ['transition', 'step', 'power', 'audit'] as const;
/** One of {@link EVENT_KINDS}. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** An event before the store gives it its sequence number. */
export interface NewEvent {
  /** Unique id. Rack events keep the id the agent chose, so re-delivery is detected. */
  readonly id: string;
  readonly kind: EventKind;
  readonly machineId: string | null;
  readonly rackId: string | null;
  /** Deployment step (`power.on`, `dhcp.ack` …) or the action for transitions and audits. */
  readonly step: string;
  readonly result: StepResult;
  readonly fromStatus: MachineStatus | null;
  readonly toStatus: MachineStatus | null;
  /** Who: `user:<name>`, `rack:<id>`, `system`. */
  readonly actor: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** When it happened, by the clock of whoever saw it. */
  readonly occurredAtMs: number;
}

/** A stored event. `seq` orders events as the controller stored them. */
export interface EventRecord extends NewEvent {
  readonly seq: number;
  readonly recordedAtMs: number;
}
