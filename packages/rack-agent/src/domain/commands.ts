import type { BootFile, BootPlan } from './boot-plan.ts';
import type { NetworkConfig } from './network-config.ts';

/** Power actions the controller may order. */
export const POWER_ACTIONS = ['on', 'off', 'cycle', 'query'] as const;
/** One of {@link POWER_ACTIONS}. */
export type PowerAction = (typeof POWER_ACTIONS)[number];

/** Power state as observed; `unknown` when the driver cannot tell (manual, flaky BMC). */
export const POWER_STATES = ['on', 'off', 'unknown'] as const;
/** One of {@link POWER_STATES}. */
export type PowerState = (typeof POWER_STATES)[number];

/** Categories of power failure; the category decides retry (STYLE.md §4.4). */
export const POWER_ERROR_KINDS = [
  'settings',
  'auth',
  'connection',
  'action',
  'unsupported',
  'tool-missing',
] as const;
/** One of {@link POWER_ERROR_KINDS}. */
export type PowerErrorKind = (typeof POWER_ERROR_KINDS)[number];

/** A power order for one machine. `params` holds secrets: never log or emit it. */
export interface PowerRequest {
  readonly machineId: string;
  readonly action: PowerAction;
  /** Driver type from the registry (`manual`, `ipmi`, …). */
  readonly driver: string;
  /** Driver parameters, parsed from JSON but not yet validated (the driver does that). */
  readonly params: unknown;
  /** Set the next boot to the network, once, before powering on. */
  readonly pxeOnce: boolean;
  readonly uefi: boolean;
}

/** The outcome of a power request, sent back as `PowerResult`. */
export interface PowerReport {
  readonly machineId: string;
  readonly ok: boolean;
  readonly state: PowerState;
  /** Set when `ok` is false. */
  readonly errorKind?: PowerErrorKind | undefined;
  readonly message: string;
  readonly observedAtMs: number;
}

/** A command from the controller, converted from proto at `rpc/`. */
export type AgentCommand = { readonly id: string } & (
  | { readonly kind: 'network-config'; readonly config: NetworkConfig }
  | { readonly kind: 'boot-plan'; readonly plan: BootPlan }
  | { readonly kind: 'remove-boot-plan'; readonly machineId: string }
  | { readonly kind: 'power'; readonly request: PowerRequest }
  | { readonly kind: 'prefetch'; readonly files: readonly BootFile[] }
  | {
      readonly kind: 'power-config';
      readonly machineId: string;
      /** Empty: stop polling this machine. */
      readonly driver: string;
      readonly params: unknown;
    }
);

/**
 * What applying a command produced, stored with its id so that a re-sent command is answered
 * from here instead of being applied again.
 */
export type AppliedResult =
  | {
      readonly kind: 'network-config' | 'remove-boot-plan' | 'prefetch' | 'power-config';
      readonly detail: string;
    }
  | { readonly kind: 'boot-plan'; readonly detail: 'saved' | 'stale' }
  | { readonly kind: 'power'; readonly report: PowerReport };
