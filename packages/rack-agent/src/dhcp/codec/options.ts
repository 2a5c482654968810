/**
 * DHCP option codes and typed views of the options PXE provisioning needs.
 *
 * Every option is a TLV (RFC 2132 §2); PAD (0) and END (255) are single bytes:
 *
 * ```text
 *  code  len   data …                    code 0 = PAD, code 255 = END (no length byte)
 * +-----+-----+-----+-----+---
 * |  c  |  n  |  d1 |  d2 | … dn
 * +-----+-----+-----+-----+---
 * ```
 *
 * Encapsulated options (43 vendor-specific, 82 relay agent information, 175 iPXE) use the same
 * TLV shape inside their data (RFC 2132 §8.4, RFC 3046 §2.0). Options keep their raw bytes in
 * {@link DhcpOption}; the accessors below decode the few the handler reads, and never throw.
 */
import { ipv4FromBytes } from './ipv4.ts';
import { createReader } from './reader.ts';

/** One option as it appeared on the wire, after RFC 3396 concatenation of split instances. */
export interface DhcpOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/** RFC 2132 §3.1 padding byte. */
export const OPT_PAD = 0;
/** RFC 2132 §3.3 subnet mask. */
export const OPT_SUBNET_MASK = 1;
/** RFC 2132 §3.5 routers. */
export const OPT_ROUTER = 3;
/** RFC 2132 §3.8 domain name servers. */
export const OPT_DNS_SERVERS = 6;
/** RFC 2132 §3.14 host name. */
export const OPT_HOST_NAME = 12;
/** RFC 2132 §3.17 domain name. */
export const OPT_DOMAIN_NAME = 15;
/** RFC 2132 §5.3 broadcast address. */
export const OPT_BROADCAST_ADDRESS = 28;
/** RFC 2132 §8.4 vendor-specific information (PXE sub-options, PXE spec §2.4). */
export const OPT_VENDOR_SPECIFIC = 43;
/** RFC 2132 §9.1 requested IP address. */
export const OPT_REQUESTED_IP = 50;
/** RFC 2132 §9.2 IP address lease time, seconds. */
export const OPT_LEASE_TIME = 51;
/** RFC 2132 §9.3 option overload: 1 = file, 2 = sname, 3 = both carry options. */
export const OPT_OVERLOAD = 52;
/** RFC 2132 §9.6 DHCP message type. */
export const OPT_MESSAGE_TYPE = 53;
/** RFC 2132 §9.7 server identifier. */
export const OPT_SERVER_ID = 54;
/** RFC 2132 §9.8 parameter request list. */
export const OPT_PARAMETER_REQUEST_LIST = 55;
/** RFC 2132 §9.9 message (error text in a NAK). */
export const OPT_MESSAGE = 56;
/** RFC 2132 §9.10 maximum DHCP message size. */
export const OPT_MAX_MESSAGE_SIZE = 57;
/** RFC 2132 §9.11 renewal (T1) time, seconds. */
export const OPT_RENEWAL_TIME = 58;
/** RFC 2132 §9.12 rebinding (T2) time, seconds. */
export const OPT_REBINDING_TIME = 59;
/** RFC 2132 §9.13 vendor class identifier (`PXEClient:Arch:…`, `HTTPClient…`). */
export const OPT_VENDOR_CLASS = 60;
/** RFC 2132 §9.14 client identifier. */
export const OPT_CLIENT_ID = 61;
/** RFC 2132 §9.4 TFTP server name. */
export const OPT_TFTP_SERVER_NAME = 66;
/** RFC 2132 §9.5 boot file name. */
export const OPT_BOOTFILE_NAME = 67;
/** RFC 3004 user class (iPXE sends the bare string `iPXE`). */
export const OPT_USER_CLASS = 77;
/** RFC 3046 relay agent information; echoed back verbatim (§2.2). */
export const OPT_RELAY_AGENT_INFO = 82;
/** RFC 4578 §2.1 client system architecture type. */
export const OPT_CLIENT_ARCH = 93;
/** RFC 4578 §2.2 client network interface identifier. */
export const OPT_CLIENT_NDI = 94;
/** RFC 4578 §2.3 client machine identifier (UUID/GUID). */
export const OPT_CLIENT_UUID = 97;
/** iPXE encapsulated options (https://ipxe.org/howto/dhcpd). */
export const OPT_IPXE_ENCAPSULATED = 175;
/** RFC 2132 §3.2 end of options. */
export const OPT_END = 255;

/** PXE spec §2.4 sub-option 6 of option 43: discovery control bits. */
export const PXE_DISCOVERY_CONTROL = 6;
/** Discovery control bit 3: boot from the file name in this reply, skip boot-server discovery. */
export const PXE_DISCOVERY_USE_FILENAME = 8;
/** iPXE sub-option 176 of option 175: `no-pxedhcp`, skip the ProxyDHCP wait. */
export const IPXE_NO_PXEDHCP = 176;

/** RFC 2132 §9.6 message types. */
export const MESSAGE_TYPES = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
} as const;
/** A DHCP message type name. */
export type MessageType = keyof typeof MESSAGE_TYPES;

const TYPE_BY_CODE = new Map<number, MessageType>(
  Object.entries(MESSAGE_TYPES).map(([name, code]) => [code, name as MessageType]),
);

/** The data of the first option with `code`, if present. */
export function findOption(options: readonly DhcpOption[], code: number): Uint8Array | undefined {
  return options.find((option) => option.code === code)?.data;
}

/** Option 53 as a name; `undefined` when absent or not one of RFC 2132's eight types. */
export function messageTypeOf(options: readonly DhcpOption[]): MessageType | undefined {
  const data = findOption(options, OPT_MESSAGE_TYPE);
  return data?.length === 1 ? TYPE_BY_CODE.get(data[0] ?? 0) : undefined;
}

/** An option holding one IPv4 address (50, 54); `undefined` unless exactly four bytes. */
export function addressOption(options: readonly DhcpOption[], code: number): string | undefined {
  const data = findOption(options, code);
  return data?.length === 4 ? ipv4FromBytes(data) : undefined;
}

/** An option's bytes as Latin-1 text (60, 12, 66 …), trailing NULs dropped. */
export function textOption(options: readonly DhcpOption[], code: number): string | undefined {
  const data = findOption(options, code);
  if (data === undefined) return undefined;
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return String.fromCharCode(...data.subarray(0, end));
}

/**
 * Option 93 (RFC 4578 §2.1): the client architecture types, one 16-bit code each. The first is
 * the one firmware means; an odd trailing byte is ignored.
 */
export function clientArchitectures(options: readonly DhcpOption[]): number[] {
  const data = findOption(options, OPT_CLIENT_ARCH);
  if (data === undefined) return [];
  const reader = createReader(data);
  const arches: number[] = [];
  for (let code = reader.u16(); code !== undefined; code = reader.u16()) arches.push(code);
  return arches;
}

/**
 * Option 77 (RFC 3004 §4): user class strings, each length-prefixed.
 * quirk(iPXE): iPXE sends the bare bytes `iPXE` without the RFC 3004 length prefix, which reads
 * as a length of 105 ('i') and fails; when the RFC form does not parse, the whole option is one
 * class.
 */
export function userClasses(options: readonly DhcpOption[]): string[] {
  const data = findOption(options, OPT_USER_CLASS);
  if (data === undefined || data.length === 0) return [];
  const reader = createReader(data);
  const classes: string[] = [];
  while (reader.remaining() > 0) {
    const length = reader.u8() ?? 0;
    const item = length === 0 ? undefined : reader.bytes(length);
    if (item === undefined) return [String.fromCharCode(...data)];
    classes.push(String.fromCharCode(...item));
  }
  return classes;
}

/**
 * Option 97 (RFC 4578 §2.3): type 0 followed by a 16-byte UUID, formatted in the SMBIOS byte
 * order firmware prints (the first three fields little-endian, as PXE spec §2.4 stores them).
 */
export function clientUuid(options: readonly DhcpOption[]): string | undefined {
  const data = findOption(options, OPT_CLIENT_UUID);
  if (data?.length !== 17 || data[0] !== 0) return undefined;
  const b = Array.from(data.subarray(1), (byte) => byte.toString(16).padStart(2, '0'));
  const order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15];
  return order.map((index) => (index < 0 ? '-' : (b[index] ?? ''))).join('');
}

/** Splits an encapsulated TLV option (43, 82, 175) into sub-options; stops at END or bad data. */
export function decodeSubOptions(data: Uint8Array): DhcpOption[] {
  const reader = createReader(data);
  const subOptions: DhcpOption[] = [];
  while (reader.remaining() > 0) {
    const code = reader.u8() ?? OPT_END;
    if (code === OPT_PAD) continue;
    if (code === OPT_END) break;
    const length = reader.u8();
    const value = length === undefined ? undefined : reader.bytes(length);
    if (value === undefined) break;
    subOptions.push({ code, data: value });
  }
  return subOptions;
}

/** Builds an encapsulated TLV option body, ending with END (PXE spec §2.4 requires it in 43). */
export function encodeSubOptions(subOptions: readonly DhcpOption[]): Uint8Array {
  const size = subOptions.reduce((sum, option) => sum + 2 + option.data.length, 1);
  const out = new Uint8Array(size);
  let at = 0;
  for (const option of subOptions) {
    out[at++] = option.code;
    out[at++] = option.data.length;
    out.set(option.data, at);
    at += option.data.length;
  }
  out[at] = OPT_END;
  return out;
}

/** Option data helpers for building replies. */
export const optionData = {
  u8: (value: number): Uint8Array => new Uint8Array([value & 255]),
  u32(value: number): Uint8Array {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value >>> 0);
    return out;
  },
  text: (value: string): Uint8Array => Uint8Array.from(value, (char) => char.charCodeAt(0) & 255),
};
