/**
 * The lease book: which address is held by which client, until when. Allocation decisions run
 * against an in-memory index (a DISCOVER must not wait on disk), and every change is written
 * through to a {@link LeasePersistence} before the method returns, so a reply never announces a
 * lease the disk does not hold. Node runs one handler at a time, so "check free, then take" is
 * atomic: two clients can never be handed the same address.
 */
import type { MacAddress } from '../domain/mac-address.ts';
import { formatIPv4, parseIPv4 } from './codec/ipv4.ts';

/** Lease states. `offered` holds an address between OFFER and REQUEST. */
export const LEASE_STATES = ['offered', 'bound', 'declined', 'released', 'expired'] as const;
/** One of {@link LEASE_STATES}. */
export type LeaseState = (typeof LEASE_STATES)[number];

/** One address's record. Declined addresses have no owner (`mac` is empty). */
export interface Lease {
  readonly ip: string;
  readonly mac: MacAddress | '';
  readonly subnetCidr: string;
  readonly state: LeaseState;
  /** When the hold ends: lease end (bound), offer hold (offered), quarantine end (declined). */
  readonly expiresAtMs: number;
  readonly hostname: string;
  /** DHCP option 93 architecture; 0 when the client sent none. */
  readonly clientArch: number;
  readonly updatedAtMs: number;
}

/** Where leases are kept durably. `save` returns after the write is committed. */
export interface LeasePersistence {
  load(): Lease[];
  save(lease: Lease): void;
  /** Runs `fn` with every save inside one commit (used by the expiry sweep). */
  batch(fn: () => void): void;
  close(): void;
}

/** A persistence that keeps nothing; for handler tests and proxy-only racks. */
export const noPersistence: LeasePersistence = {
  load: () => [],
  save: () => undefined,
  batch: (fn) => fn(),
  close: () => undefined,
};

/** An inclusive range of addresses as numbers. */
export interface NumericRange {
  readonly start: number;
  readonly end: number;
}

/** The lease book the handler consults and changes. */
export interface LeaseBook {
  byIp(ip: string): Lease | undefined;
  /** The newest record this MAC holds (or held) on the subnet. */
  byMac(mac: MacAddress, subnetCidr: string): Lease | undefined;
  /**
   * Whether `mac` may take `ip` now: no record, its own record, or a record whose hold ended
   * (released, expired, or past `expiresAtMs`).
   */
  isAvailable(ip: string, mac: MacAddress, nowMs: number): boolean;
  /** A free address in `ranges`, skipping `excluded` (reserved for other machines). */
  findFree(
    ranges: readonly NumericRange[],
    excluded: ReadonlySet<string>,
    mac: MacAddress,
    nowMs: number,
  ): string | undefined;
  /** Stores a record (replacing the address's previous one); durably unless it is an offer. */
  put(lease: Lease): void;
  /**
   * Ends holds that ran out by `nowMs`, at most `limit` per call: bound leases become `expired`
   * and are returned (they become lease events); lapsed offers and quarantines are freed quietly.
   */
  expire(nowMs: number, limit: number): Lease[];
  /** Every record, for inspection and tests. */
  all(): Lease[];
  size(): number;
}

/** Opens a lease book over `persistence`, loading what it holds. */
export function createLeaseBook(persistence: LeasePersistence = noPersistence): LeaseBook {
  // Keyed by the address as a number: the pool scan then costs no string building.
  const byIp = new Map<number, Lease>();
  const byClient = new Map<string, number>();
  const key = (ip: string): number => parseIPv4(ip) ?? -1;
  const cursors = new Map<string, number>();
  const clientKey = (mac: string, subnetCidr: string): string => `${subnetCidr}|${mac}`;
  const index = (lease: Lease): void => {
    const address = key(lease.ip);
    const previous = byIp.get(address);
    if (previous !== undefined && previous.mac !== '') {
      const client = clientKey(previous.mac, previous.subnetCidr);
      if (byClient.get(client) === address) byClient.delete(client);
    }
    byIp.set(address, lease);
    if (lease.mac !== '') byClient.set(clientKey(lease.mac, lease.subnetCidr), address);
  };
  for (const lease of persistence.load()) index(lease);

  const availableAt = (address: number, mac: MacAddress, nowMs: number): boolean => {
    const lease = byIp.get(address);
    if (lease === undefined || lease.mac === mac) {
      return lease?.state !== 'declined' || lease.expiresAtMs <= nowMs;
    }
    return lease.state === 'released' || lease.state === 'expired' || lease.expiresAtMs <= nowMs;
  };
  const isAvailable = (ip: string, mac: MacAddress, nowMs: number): boolean =>
    availableAt(key(ip), mac, nowMs);

  return {
    byIp: (ip) => byIp.get(key(ip)),
    byMac(mac, subnetCidr) {
      const address = byClient.get(clientKey(mac, subnetCidr));
      return address === undefined ? undefined : byIp.get(address);
    },
    isAvailable,
    findFree(ranges, excluded, mac, nowMs) {
      // One cursor per range: fresh addresses are handed out in order, so a client coming back
      // after its lease expired usually still finds its old address unused.
      for (const range of ranges) {
        const rangeKey = `${range.start}-${range.end}`;
        const size = range.end - range.start + 1;
        const from = cursors.get(rangeKey) ?? range.start;
        for (let step = 0; step < size; step++) {
          const value = range.start + ((from - range.start + step) % size);
          if (!availableAt(value, mac, nowMs)) continue;
          const ip = formatIPv4(value);
          if (excluded.has(ip)) continue;
          cursors.set(rangeKey, value === range.end ? range.start : value + 1);
          return ip;
        }
      }
      return undefined;
    },
    put(lease) {
      // An offer hold is worth nothing after a restart (the client re-DISCOVERs), so it stays in
      // memory: that halves the writes per DORA. Everything a client was told it holds is saved.
      if (lease.state !== 'offered') persistence.save(lease);
      index(lease);
    },
    expire(nowMs, limit) {
      const expired: Lease[] = [];
      const changes: Lease[] = [];
      for (const lease of byIp.values()) {
        if (changes.length >= limit) break;
        if (lease.expiresAtMs > nowMs) continue;
        if (lease.state === 'bound') {
          const next: Lease = { ...lease, state: 'expired', updatedAtMs: nowMs };
          changes.push(next);
          expired.push(next);
        } else if (lease.state === 'offered' || lease.state === 'declined') {
          changes.push({
            ...lease,
            state: lease.mac === '' ? 'expired' : 'released',
            updatedAtMs: nowMs,
          });
        }
      }
      if (changes.length > 0) {
        persistence.batch(() => {
          for (const change of changes) persistence.save(change);
        });
        for (const change of changes) index(change);
      }
      return expired;
    },
    all: () => [...byIp.values()],
    size: () => byIp.size,
  };
}
