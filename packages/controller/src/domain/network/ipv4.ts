/**
 * IPv4 addresses and CIDR blocks as plain numbers. Pure; used to validate subnets, ranges and
 * reservations before they reach a rack.
 */

/** Parses dotted-quad IPv4 to an unsigned 32-bit number, or null. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/** Formats an unsigned 32-bit number as dotted-quad. */
export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** A parsed CIDR block. `network` and `broadcast` are the first and last addresses. */
export interface Cidr {
  readonly network: number;
  readonly prefix: number;
  readonly broadcast: number;
}

/** Parses `a.b.c.d/n`; the address must be the network address (no host bits set). */
export function parseCidr(text: string): Cidr | null {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (m === null) return null;
  const address = parseIPv4(m[1] ?? '');
  const prefix = Number(m[2]);
  if (address === null || prefix < 8 || prefix > 30) return null;
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return null;
  return { network: address, prefix, broadcast: address + size - 1 };
}

/** Whether `address` is a usable host address of `cidr` (not network nor broadcast). */
export function isHostOf(cidr: Cidr, address: number): boolean {
  return address > cidr.network && address < cidr.broadcast;
}

/** Whether two CIDR blocks share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}
