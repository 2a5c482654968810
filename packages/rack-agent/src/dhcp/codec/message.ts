/**
 * DHCPv4 message codec (RFC 2131 §2, options RFC 2132, RFC 3396, option overload RFC 2132 §9.3).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+---------------+---------------+
 * |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |   0
 * +---------------+---------------+---------------+---------------+
 * |                            xid (4)                            |   4
 * +-------------------------------+-------------------------------+
 * |           secs (2)            |           flags (2)           |   8  (bit 15: BROADCAST)
 * +-------------------------------+-------------------------------+
 * |                          ciaddr  (4)                          |  12
 * |                          yiaddr  (4)                          |  16
 * |                          siaddr  (4)                          |  20
 * |                          giaddr  (4)                          |  24
 * +---------------------------------------------------------------+
 * |                          chaddr  (16)                         |  28
 * |                          sname   (64)                         |  44
 * |                          file    (128)                        | 108
 * +---------------------------------------------------------------+
 * |                 magic cookie 99.130.83.99 (4)                 | 236
 * +---------------------------------------------------------------+
 * |                       options (variable)                      | 240
 * +---------------------------------------------------------------+
 * ```
 *
 * Decoding is strict on the protocol's invariants (op, cookie, a length byte running past the
 * end) and lenient where firmware is known to be sloppy; each leniency is commented.
 */
import { err, ok, type Result } from '@ingot/common';
import type { DecodeError } from './errors.ts';
import { ipv4FromBytes, ipv4ToBytes } from './ipv4.ts';
import { OPT_END, OPT_MESSAGE_TYPE, OPT_OVERLOAD, OPT_PAD, type DhcpOption } from './options.ts';
import { createReader } from './reader.ts';
import { createWriter } from './writer.ts';

/** RFC 2131 §2 `op`: a client's request. */
export const BOOTREQUEST = 1;
/** RFC 2131 §2 `op`: a server's reply. */
export const BOOTREPLY = 2;
/** RFC 2131 §3: the first four option-area bytes, 99.130.83.99. */
export const MAGIC_COOKIE = 0x63825363;
/** RFC 2131 §2 flags bit 15: the client cannot receive unicast before it is configured. */
export const FLAG_BROADCAST = 0x8000;
/** RFC 1700 hardware type for Ethernet. */
export const HTYPE_ETHERNET = 1;

const HEADER_BYTES = 236;
const CHADDR_BYTES = 16;
const SNAME_BYTES = 64;
const FILE_BYTES = 128;
/** RFC 1542 §3.4 / RFC 2131 §2: relays and old clients drop BOOTP messages under 300 bytes. */
const MIN_ENCODED_BYTES = 300;
const EMPTY = new Uint8Array(0);

/** A decoded DHCP message. Field names follow RFC 2131 §2. */
export interface DhcpMessage {
  readonly op: number;
  readonly htype: number;
  /** Hardware address length, clamped to 16 on decode (see {@link decodeMessage}). */
  readonly hlen: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** The full 16-byte field; the hardware address is its first `hlen` bytes. */
  readonly chaddr: Uint8Array;
  readonly sname: string;
  readonly file: string;
  /** Options in wire order, split instances concatenated (RFC 3396); PAD, END and 52 removed. */
  readonly options: readonly DhcpOption[];
}

/**
 * Decodes one DHCP datagram. Never throws: any input yields a message or a {@link DecodeError}.
 * With option overload (52) the options found in `file`/`sname` are appended and those fields
 * decode as empty strings.
 */
export function decodeMessage(bytes: Uint8Array): Result<DhcpMessage, DecodeError> {
  if (bytes.byteLength < HEADER_BYTES + 4) {
    return err({ kind: 'too-short', length: bytes.byteLength });
  }
  const reader = createReader(bytes);
  // The length check above guarantees every fixed-size read below; `?? 0` only satisfies types.
  const op = reader.u8() ?? 0;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) return err({ kind: 'bad-op', op });
  const htype = reader.u8() ?? 0;
  // quirk(various PXE ROMs): hlen above 16 has been seen; clamp as insomniacslk/dhcp does.
  const hlen = Math.min(reader.u8() ?? 0, CHADDR_BYTES);
  const hops = reader.u8() ?? 0;
  const xid = reader.u32() ?? 0;
  const secs = reader.u16() ?? 0;
  const flags = reader.u16() ?? 0;
  const ciaddr = ipv4FromBytes(reader.bytes(4) ?? EMPTY);
  const yiaddr = ipv4FromBytes(reader.bytes(4) ?? EMPTY);
  const siaddr = ipv4FromBytes(reader.bytes(4) ?? EMPTY);
  const giaddr = ipv4FromBytes(reader.bytes(4) ?? EMPTY);
  const chaddr = (reader.bytes(CHADDR_BYTES) ?? new Uint8Array(CHADDR_BYTES)).slice();
  const snameField = reader.bytes(SNAME_BYTES) ?? new Uint8Array(0);
  const fileField = reader.bytes(FILE_BYTES) ?? new Uint8Array(0);
  if (reader.u32() !== MAGIC_COOKIE) return err({ kind: 'bad-cookie' });

  const parts = new Map<number, Uint8Array[]>();
  const order: number[] = [];
  const main = readOptions(bytes.subarray(HEADER_BYTES + 4), HEADER_BYTES + 4, parts, order);
  if (!main.ok) return main;
  const overload = parts.get(OPT_OVERLOAD)?.[0]?.[0] ?? 0;
  // RFC 3396 §5: the option field first, then `file`, then `sname`.
  if (overload === 1 || overload === 3) {
    const fromFile = readOptions(fileField, 108, parts, order);
    if (!fromFile.ok) return fromFile;
  }
  if (overload === 2 || overload === 3) {
    const fromSname = readOptions(snameField, 44, parts, order);
    if (!fromSname.ok) return fromSname;
  }
  const options: DhcpOption[] = [];
  for (const code of order) {
    if (code === OPT_OVERLOAD) continue;
    options.push({ code, data: concat(parts.get(code) ?? []) });
  }
  return ok({
    op,
    htype,
    hlen,
    hops,
    xid,
    secs,
    flags,
    ciaddr,
    yiaddr,
    siaddr,
    giaddr,
    chaddr,
    sname: overload === 2 || overload === 3 ? '' : cString(snameField),
    file: overload === 1 || overload === 3 ? '' : cString(fileField),
    options,
  });
}

/**
 * Encodes a message: header, cookie, options (53 first, each longer than 255 bytes split into
 * several instances per RFC 3396), END, then zero padding up to 300 bytes. `sname`/`file` longer
 * than their fields are truncated; this encoder never uses option overload.
 */
export function encodeMessage(message: DhcpMessage): Uint8Array {
  const writer = createWriter();
  writer.u8(message.op);
  writer.u8(message.htype);
  writer.u8(message.hlen);
  writer.u8(message.hops);
  writer.u32(message.xid);
  writer.u16(message.secs);
  writer.u16(message.flags);
  for (const address of [message.ciaddr, message.yiaddr, message.siaddr, message.giaddr]) {
    writer.bytes(ipv4ToBytes(address));
  }
  writer.fixed(message.chaddr, CHADDR_BYTES);
  writer.fixed(latin1(message.sname), SNAME_BYTES);
  writer.fixed(latin1(message.file), FILE_BYTES);
  writer.u32(MAGIC_COOKIE);
  const typeFirst = [
    ...message.options.filter((option) => option.code === OPT_MESSAGE_TYPE),
    ...message.options.filter((option) => option.code !== OPT_MESSAGE_TYPE),
  ];
  for (const option of typeFirst) {
    if (option.code === OPT_PAD || option.code === OPT_END) continue;
    // RFC 3396 §7: a long option goes out as consecutive instances of at most 255 bytes.
    for (let at = 0; at === 0 || at < option.data.length; at += 255) {
      const chunk = option.data.subarray(at, at + 255);
      writer.u8(option.code);
      writer.u8(chunk.length);
      writer.bytes(chunk);
    }
  }
  writer.u8(OPT_END);
  if (writer.length() < MIN_ENCODED_BYTES) writer.zeros(MIN_ENCODED_BYTES - writer.length());
  return writer.finish();
}

/** The client hardware address as a lower-case `aa:bb:…` string of `hlen` bytes. */
export function hardwareAddress(message: DhcpMessage): string {
  return Array.from(message.chaddr.subarray(0, message.hlen), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join(':');
}

type OptionsResult = Result<void, DecodeError>;

function readOptions(
  field: Uint8Array,
  baseOffset: number,
  parts: Map<number, Uint8Array[]>,
  order: number[],
): OptionsResult {
  const reader = createReader(field);
  // quirk(dhclient, U-Boot): some clients omit END and let the datagram end instead; stopping
  // at the end of the field is what every deployed server does.
  while (reader.remaining() > 0) {
    const code = reader.u8() ?? OPT_END;
    if (code === OPT_END) break;
    // RFC 2132 §3.1: PAD may appear anywhere, including between options, to align them.
    if (code === OPT_PAD) continue;
    const offset = baseOffset + reader.offset() - 1;
    const length = reader.u8();
    const data = length === undefined ? undefined : reader.bytes(length);
    if (data === undefined) return err({ kind: 'truncated-option', code, offset });
    const existing = parts.get(code);
    if (existing === undefined) {
      parts.set(code, [data]);
      order.push(code);
    } else {
      // RFC 3396 §7: repeated instances of one option are concatenated, in order.
      existing.push(data);
    }
  }
  return ok(undefined);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0].slice();
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A NUL-terminated Latin-1 field (RFC 2131 §2: sname and file are "null terminated string"). */
function cString(field: Uint8Array): string {
  const end = field.indexOf(0);
  if (end === 0) return '';
  return String.fromCharCode(...field.subarray(0, end < 0 ? field.length : end));
}

function latin1(text: string): Uint8Array {
  if (text === '') return EMPTY;
  const out = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) out[index] = text.charCodeAt(index) & 255;
  return out;
}
