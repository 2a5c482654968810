import type { MacAddress } from './mac-address.ts';

/** How the agent serves DHCP on a subnet (DESIGN.md §5). */
export const DHCP_MODES = ['managed', 'proxy', 'none'] as const;
/** One of {@link DHCP_MODES}. */
export type DhcpMode = (typeof DHCP_MODES)[number];

/** An inclusive IPv4 address range. */
export interface IpRange {
  readonly start: string;
  readonly end: string;
}

/** A subnet the rack serves. */
export interface Subnet {
  readonly cidr: string;
  readonly gateway: string;
  readonly dnsServers: readonly string[];
  readonly dynamicRanges: readonly IpRange[];
  readonly leaseSeconds: number;
  readonly domain: string;
  readonly dhcpMode: DhcpMode;
  /** Agent interface facing this subnet; empty when unknown. */
  readonly interface: string;
}

/** A fixed address for a known machine. */
export interface Reservation {
  readonly mac: MacAddress;
  readonly ip: string;
  readonly hostname: string;
  readonly machineId: string;
}

/** The agent's whole view of its subnets; each push replaces the previous one entirely. */
export interface NetworkConfig {
  readonly version: number;
  readonly subnets: readonly Subnet[];
  readonly reservations: readonly Reservation[];
}
