/**
 * Every expected failure of the controller's use cases, as one union on `kind`. Each edge maps it
 * in exactly one function (`api/problem.ts` for HTTP).
 */
import type { MachineAction, MachineStatus } from './machine/lifecycle.ts';

/** A use case's expected failure. */
export type DomainError =
  | { readonly kind: 'not-found'; readonly entity: string; readonly id: string }
  | { readonly kind: 'invalid'; readonly detail: string; readonly field?: string }
  | { readonly kind: 'conflict'; readonly detail: string }
  | {
      readonly kind: 'invalid-transition';
      readonly machineId: string;
      readonly status: MachineStatus;
      readonly action: MachineAction;
      readonly allowed: readonly MachineAction[];
    }
  | { readonly kind: 'locked'; readonly machineId: string; readonly action: MachineAction }
  | { readonly kind: 'no-match'; readonly detail: string }
  | { readonly kind: 'forbidden'; readonly detail: string }
  | { readonly kind: 'unauthenticated'; readonly detail: string }
  | { readonly kind: 'no-rack'; readonly machineId: string; readonly detail: string }
  | { readonly kind: 'stale'; readonly machineId: string };
