/**
 * The agent's {@link NetworkConfig} compiled for fast per-packet decisions: CIDRs and ranges as
 * numbers, reservations indexed, and the agent's own address on each subnet (server identifier
 * and next-server). Rebuilt whenever the controller pushes a new config.
 */
import type { MacAddress } from '../../domain/mac-address.ts';
import type { NetworkConfig, Reservation, Subnet } from '../../domain/network-config.ts';
import { cidrContains, parseCidr, parseIPv4, type Cidr } from '../codec/ipv4.ts';
import type { NumericRange } from '../leases.ts';

/** One IPv4 address the agent holds, and where. */
export interface LocalAddress {
  readonly ifName: string;
  readonly address: string;
}

/** PXE boot files by RFC 4578 §2.1 architecture type (TFTP paths, or URLs for HTTP boot). */
export type BootFileTable = Readonly<Record<number, string>>;

/** How the handler answers; everything has a default except the network itself. */
export interface DhcpHandlerOptions {
  /** The agent's addresses, by interface (from `os.networkInterfaces()` in the composition root). */
  readonly localAddresses: readonly LocalAddress[];
  /**
   * Server identifier and next-server for subnets reached only through relays (no local
   * address inside them): the address relays forward to. Defaults to the first local address.
   */
  readonly relayServerAddress?: string | undefined;
  /** TFTP boot file per client arch. */
  readonly bootFiles?: BootFileTable | undefined;
  /**
   * URL template given to iPXE (user class 77 `iPXE`). `{agent}` is the agent's address on the
   * subnet, `{mac}` the client MAC (`aa:bb:…`), `{arch}` the option 93 code.
   */
  readonly ipxeScriptUrl?: string | undefined;
  /** URL template for UEFI HTTP boot clients (option 60 `HTTPClient`); `{file}` is the loader. */
  readonly httpBootUrl?: string | undefined;
  /** How long an OFFER holds its address for the client's REQUEST. */
  readonly offerHoldSeconds?: number | undefined;
  /** How long a DECLINEd address stays out of the pool (RFC 2131 §3.1 step 5). */
  readonly declineHoldSeconds?: number | undefined;
}

/** RFC 4578 §2.1 arch codes → the iPXE build Debian's `ipxe` package ships for them. */
export const DEFAULT_BOOT_FILES: BootFileTable = {
  0: 'undionly.kpxe', // x86 BIOS
  6: 'ipxe.efi', // x86 UEFI (32-bit firmware: rare; iPXE's x86_64 EFI is the nearest we ship)
  7: 'ipxe.efi', // x86-64 UEFI
  9: 'ipxe.efi', // x86-64 UEFI (EBC code some firmware sends)
  11: 'ipxe-arm64.efi', // arm64 UEFI
  16: 'ipxe.efi', // x86-64 UEFI HTTP boot
  19: 'ipxe-arm64.efi', // arm64 UEFI HTTP boot
};

/** Default iPXE script URL (DESIGN.md §1: agent HTTP boot on 5248). */
export const DEFAULT_IPXE_SCRIPT_URL = 'http://{agent}:5248/ipxe/script?mac={mac}';
/** Default UEFI HTTP boot URL. */
export const DEFAULT_HTTP_BOOT_URL = 'http://{agent}:5248/boot/{file}';

/** A served subnet, compiled. */
export interface ServedSubnet {
  readonly subnet: Subnet;
  readonly cidr: Cidr;
  readonly ranges: readonly NumericRange[];
  /** The interface facing it: configured, or the one holding an address inside it. */
  readonly ifName: string;
  /** The agent's address on it (server id, next-server), or the relay server address. */
  readonly serverAddress: string;
  /** Whether the agent has an address inside it (directly attached rather than relayed). */
  readonly attached: boolean;
}

/** The compiled network plus the handler's settings. */
export interface CompiledNetwork {
  readonly subnets: readonly ServedSubnet[];
  readonly reservationsByMac: ReadonlyMap<MacAddress, Reservation>;
  /** Reserved addresses, never handed to another client dynamically. */
  readonly reservedIps: ReadonlySet<string>;
  readonly serverAddresses: ReadonlySet<string>;
  readonly bootFiles: BootFileTable;
  readonly ipxeScriptUrl: string;
  readonly httpBootUrl: string;
  readonly offerHoldMs: number;
  readonly declineHoldMs: number;
}

/** Compiles `config` for the handler. Subnets with a malformed CIDR are skipped, never guessed. */
export function compileNetwork(
  config: NetworkConfig,
  options: DhcpHandlerOptions,
): CompiledNetwork {
  const locals = options.localAddresses.flatMap((local) => {
    const value = parseIPv4(local.address);
    return value === undefined ? [] : [{ ...local, value }];
  });
  const fallback = options.relayServerAddress ?? locals[0]?.address ?? '0.0.0.0';
  const subnets = config.subnets.flatMap((subnet): ServedSubnet[] => {
    const cidr = parseCidr(subnet.cidr);
    if (cidr === undefined) return [];
    const local = locals.find(
      (candidate) =>
        cidrContains(cidr, candidate.value) &&
        (subnet.interface === '' || subnet.interface === candidate.ifName),
    );
    const ranges = subnet.dynamicRanges.flatMap((range) => {
      const start = parseIPv4(range.start);
      const end = parseIPv4(range.end);
      if (start === undefined || end === undefined || end < start) return [];
      if (!cidrContains(cidr, start) || !cidrContains(cidr, end)) return [];
      return [{ start, end }];
    });
    return [
      {
        subnet,
        cidr,
        ranges,
        ifName: subnet.interface !== '' ? subnet.interface : (local?.ifName ?? ''),
        serverAddress: local?.address ?? fallback,
        attached: local !== undefined,
      },
    ];
  });
  return {
    subnets,
    reservationsByMac: new Map(config.reservations.map((r) => [r.mac, r])),
    reservedIps: new Set(config.reservations.map((r) => r.ip)),
    serverAddresses: new Set([...locals.map((local) => local.address), fallback]),
    bootFiles: options.bootFiles ?? DEFAULT_BOOT_FILES,
    ipxeScriptUrl: options.ipxeScriptUrl ?? DEFAULT_IPXE_SCRIPT_URL,
    httpBootUrl: options.httpBootUrl ?? DEFAULT_HTTP_BOOT_URL,
    offerHoldMs: (options.offerHoldSeconds ?? 60) * 1000,
    declineHoldMs: (options.declineHoldSeconds ?? 600) * 1000,
  };
}

/** The subnet containing `address`, among `subnets`. */
export function subnetContaining(
  subnets: readonly ServedSubnet[],
  address: string,
): ServedSubnet | undefined {
  const value = parseIPv4(address);
  return value === undefined ? undefined : subnets.find((s) => cidrContains(s.cidr, value));
}

/** Where a request came from, as far as the server can tell. */
export interface Arrival {
  readonly giaddr: string;
  readonly ciaddr: string;
  /** Option 50, when present: disambiguates multinet segments. */
  readonly requestedIp: string | undefined;
  readonly ifName: string | undefined;
}

/**
 * Picks the subnet a request belongs to (RFC 2131 §4.3.1):
 * 1. relayed (`giaddr` set): the subnet containing `giaddr`, and nothing else;
 * 2. the arrival interface, when the transport knows it: the subnets facing it (if several share
 *    the wire, the one containing `ciaddr` or the requested address, else the first);
 * 3. no interface known: the directly attached subnets; exactly one, or one containing
 *    `ciaddr`. Anything ambiguous is dropped: answering on the wrong segment is worse than
 *    staying silent (DESIGN.md §5).
 */
export function selectSubnet(network: CompiledNetwork, arrival: Arrival): ServedSubnet | undefined {
  if (arrival.giaddr !== '0.0.0.0') return subnetContaining(network.subnets, arrival.giaddr);
  const facing =
    arrival.ifName === undefined
      ? network.subnets.filter((s) => s.attached)
      : network.subnets.filter((s) => s.ifName === arrival.ifName);
  if (facing.length <= 1) return facing[0];
  const hint = arrival.ciaddr !== '0.0.0.0' ? arrival.ciaddr : arrival.requestedIp;
  const hinted = hint === undefined ? undefined : subnetContaining(facing, hint);
  if (hinted !== undefined) return hinted;
  return arrival.ifName === undefined ? undefined : facing[0];
}

/** Whether `address` lies in one of `served`'s dynamic ranges. */
export function inDynamicRange(served: ServedSubnet, address: string): boolean {
  const value = parseIPv4(address);
  return value !== undefined && served.ranges.some((r) => value >= r.start && value <= r.end);
}
