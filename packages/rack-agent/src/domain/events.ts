import type { StepResult } from '@ingot/common';
import type { MacAddress } from './mac-address.ts';

/**
 * One step of a machine's life as the rack saw it (DESIGN.md §3). The id is a UUID chosen
 * here; the controller stores each id once, which makes resending safe.
 */
export interface StatusEvent {
  readonly id: string;
  /** Empty when the agent does not know the machine; then `mac` identifies it. */
  readonly machineId: string;
  readonly mac: MacAddress | '';
  /** e.g. `power.on`, `dhcp.ack`, `boot.kernel`, `install.image`. */
  readonly step: string;
  readonly result: StepResult;
  readonly message: string;
  readonly occurredAtMs: number;
  /** Structured details; never secrets. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** What happened to a DHCP lease. */
export const LEASE_ACTIONS = ['bound', 'renewed', 'released', 'expired', 'declined'] as const;
/** One of {@link LEASE_ACTIONS}. */
export type LeaseAction = (typeof LEASE_ACTIONS)[number];

/** A DHCP lease change, reported so the controller knows which machine holds which address. */
export interface LeaseEvent {
  readonly id: string;
  readonly mac: MacAddress;
  readonly ip: string;
  readonly subnetCidr: string;
  readonly action: LeaseAction;
  readonly expiresAtMs: number;
  readonly occurredAtMs: number;
  readonly hostname: string;
  /** DHCP option 93 client architecture; 0 when not seen. */
  readonly clientArch: number;
}

/** An event waiting in the durable outbox, tagged by what it is. */
export type OutboxEntry =
  | { readonly kind: 'status'; readonly event: StatusEvent }
  | { readonly kind: 'lease'; readonly event: LeaseEvent };

/** An outbox entry as stored: `seq` orders delivery. */
export type OutboxRecord = OutboxEntry & { readonly seq: number };
