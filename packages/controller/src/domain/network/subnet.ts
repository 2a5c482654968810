/**
 * Subnets a rack serves: the network config the controller pushes to racks for DHCP
 * (DESIGN.md §5). Validation is pure and returns every problem at once.
 */
import { formatIPv4, isHostOf, parseCidr, parseIPv4 } from './ipv4.ts';

/** How a rack answers DHCP on a subnet. */
export const DHCP_MODES = ['managed', 'proxy', 'none'] as const;
/** One of {@link DHCP_MODES}. */
export type DhcpMode = (typeof DHCP_MODES)[number];

/** An inclusive range of addresses handed out dynamically. */
export interface IpRange {
  readonly start: string;
  readonly end: string;
}

/** A subnet. */
export interface Subnet {
  readonly id: string;
  readonly cidr: string;
  readonly name: string;
  readonly gateway: string | null;
  readonly dnsServers: readonly string[];
  readonly dynamicRanges: readonly IpRange[];
  readonly leaseSeconds: number;
  readonly domain: string;
  readonly dhcpMode: DhcpMode;
  /** The rack that serves it; null until assigned. */
  readonly rackId: string | null;
  /** The rack interface that faces it, when the rack has several. */
  readonly interface: string | null;
  readonly createdAtMs: number;
}

/** A problem with a subnet definition. */
export interface SubnetProblem {
  readonly field: string;
  readonly detail: string;
}

/**
 * Checks a subnet's own consistency: CIDR, gateway and DNS addresses, ranges inside the subnet
 * and not overlapping each other or the gateway, a sensible lease time.
 */
export function validateSubnet(
  s: Pick<Subnet, 'cidr' | 'gateway' | 'dnsServers' | 'dynamicRanges' | 'leaseSeconds'>,
): SubnetProblem[] {
  const problems: SubnetProblem[] = [];
  const cidr = parseCidr(s.cidr);
  if (cidr === null) {
    return [
      {
        field: 'cidr',
        detail: `${s.cidr} is not an IPv4 network such as 172.31.0.0/24 (prefix 8–30, no host bits)`,
      },
    ];
  }
  const gateway = s.gateway === null ? null : parseIPv4(s.gateway);
  if (s.gateway !== null && (gateway === null || !isHostOf(cidr, gateway))) {
    problems.push({ field: 'gateway', detail: `${s.gateway} is not a host address in ${s.cidr}` });
  }
  for (const dns of s.dnsServers) {
    if (parseIPv4(dns) === null)
      problems.push({ field: 'dns_servers', detail: `${dns} is not an IPv4 address` });
  }
  const ranges: [number, number][] = [];
  s.dynamicRanges.forEach((r, i) => {
    const start = parseIPv4(r.start);
    const end = parseIPv4(r.end);
    if (
      start === null ||
      end === null ||
      !isHostOf(cidr, start) ||
      !isHostOf(cidr, end) ||
      start > end
    ) {
      problems.push({
        field: `dynamic_ranges.${i}`,
        detail: `${r.start}–${r.end} is not an ascending range of host addresses in ${s.cidr}`,
      });
      return;
    }
    if (gateway !== null && gateway >= start && gateway <= end) {
      problems.push({
        field: `dynamic_ranges.${i}`,
        detail: `${r.start}–${r.end} contains the gateway ${formatIPv4(gateway)}`,
      });
    }
    for (const [a, b] of ranges) {
      if (start <= b && a <= end)
        problems.push({
          field: `dynamic_ranges.${i}`,
          detail: `${r.start}–${r.end} overlaps another range`,
        });
    }
    ranges.push([start, end]);
  });
  if (!Number.isInteger(s.leaseSeconds) || s.leaseSeconds < 60 || s.leaseSeconds > 7 * 86400) {
    problems.push({ field: 'lease_seconds', detail: 'leases last between 60 s and 7 days' });
  }
  return problems;
}

/** Whether `ip` is a host address of the subnet and outside its dynamic ranges. */
export function isReservable(
  s: Pick<Subnet, 'cidr' | 'dynamicRanges' | 'gateway'>,
  ip: string,
): boolean {
  const cidr = parseCidr(s.cidr);
  const address = parseIPv4(ip);
  if (cidr === null || address === null || !isHostOf(cidr, address)) return false;
  if (s.gateway === ip) return false;
  return s.dynamicRanges.every((r) => {
    const start = parseIPv4(r.start) ?? 0;
    const end = parseIPv4(r.end) ?? 0;
    return address < start || address > end;
  });
}

/** A fixed address for a MAC on a subnet (the DHCP server always gives it that address). */
export interface Reservation {
  readonly mac: string;
  readonly ip: string;
  readonly subnetId: string;
  readonly hostname: string | null;
  readonly createdAtMs: number;
}

/** The whole network view one rack gets: its subnets and their reservations. */
export interface RackNetworkConfig {
  readonly version: number;
  readonly subnets: readonly Subnet[];
  readonly reservations: readonly (Reservation & { readonly machineId: string | null })[];
}
