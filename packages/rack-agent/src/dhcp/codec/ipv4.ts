/**
 * IPv4 address helpers shared by the codec and the handler. Addresses travel as dotted strings
 * (readable in tests and logs) and as unsigned 32-bit numbers for arithmetic.
 */

/** `0.0.0.0`: an unset address field in a BOOTP header (RFC 2131 §2). */
export const ZERO_ADDRESS = '0.0.0.0';

/** Dotted quad of an unsigned 32-bit number. */
export function formatIPv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Dotted quad of four bytes (missing bytes read as 0). */
export function ipv4FromBytes(bytes: Uint8Array): string {
  return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
}

/** The number for a dotted quad, or `undefined` if `text` is not exactly four octets 0–255. */
export function parseIPv4(text: string): number | undefined {
  // Hand-rolled: this runs for every address of every packet, and split + regex cost 10×.
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 46) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57 && digits < 3) {
      octet = octet * 10 + (code - 48);
      digits++;
      if (octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

/** Four bytes of a dotted quad; an unparsable address encodes as 0.0.0.0. */
export function ipv4ToBytes(text: string): Uint8Array {
  const value = parseIPv4(text) ?? 0;
  return new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

/** A parsed `a.b.c.d/len` prefix. */
export interface Cidr {
  readonly network: number;
  readonly prefixLength: number;
  readonly mask: number;
}

/** Parses `a.b.c.d/len`; host bits are cleared. `undefined` when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, lengthText] = text.split('/');
  if (address === undefined || lengthText === undefined || !/^\d{1,2}$/.test(lengthText)) {
    return undefined;
  }
  const value = parseIPv4(address);
  const prefixLength = Number(lengthText);
  if (value === undefined || prefixLength > 32) return undefined;
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { network: (value & mask) >>> 0, prefixLength, mask };
}

/** Whether `address` (a number) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, address: number): boolean {
  return (address & cidr.mask) >>> 0 === cidr.network;
}
