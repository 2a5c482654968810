import type { MacAddress } from './mac-address.ts';

/**
 * The long-lived identity a rack receives from `Register` (DESIGN.md §4). The secret
 * authenticates every session; it is stored only in the agent's data directory (mode 0600)
 * and never logged.
 */
export interface RackIdentity {
  readonly rackId: string;
  readonly rackSecret: string;
  /** Name the controller gave the rack, shown to operators. */
  readonly name: string;
}

/** A network interface the agent serves, as reported to the controller. */
export interface AgentInterface {
  readonly name: string;
  /** Empty when the OS does not know the interface (yet). */
  readonly mac: MacAddress | '';
  /** Addresses in CIDR notation, e.g. `172.31.0.1/24`. */
  readonly cidrs: readonly string[];
}
