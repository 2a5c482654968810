/**
 * TFTP packets: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and RFC 2347 (options, OACK).
 *
 * Every packet starts with a 2-byte opcode in network byte order (RFC 1350 §5):
 *
 * ```
 *  RRQ/WRQ (1/2)  RFC 1350 §5 fig. 5-1, options RFC 2347 §"Packet Formats"
 *   2 bytes   string    1 byte  string  1 byte  string   1 byte  string   1 byte
 *  +--------+----------+------+--------+------+--------+------+--------+------+--
 *  | opcode | filename |  0   |  mode  |  0   |  opt1  |  0   | value1 |  0   | ...
 *  +--------+----------+------+--------+------+--------+------+--------+------+--
 *
 *  DATA (3)  RFC 1350 §5 fig. 5-2
 *   2 bytes   2 bytes   n bytes (0..blksize; fewer than blksize ends the transfer)
 *  +--------+---------+------------------+
 *  | opcode | block # |       data       |
 *  +--------+---------+------------------+
 *
 *  ACK (4)  RFC 1350 §5 fig. 5-3
 *   2 bytes   2 bytes
 *  +--------+---------+
 *  | opcode | block # |
 *  +--------+---------+
 *
 *  ERROR (5)  RFC 1350 §5 fig. 5-4
 *   2 bytes   2 bytes    string   1 byte
 *  +--------+-----------+--------+------+
 *  | opcode | errorcode | errmsg |  0   |
 *  +--------+-----------+--------+------+
 *
 *  OACK (6)  RFC 2347 §"Packet Formats"
 *   2 bytes  string  1 byte  string  1 byte
 *  +--------+------+------+--------+------+--
 *  | opcode | opt1 |  0   | value1 |  0   | ...
 *  +--------+------+------+--------+------+--
 * ```
 *
 * Strings are decoded byte for byte (Latin-1), so every packet round-trips exactly; the
 * meaning of option values lives in `options.ts`. The decoder is pure and never throws.
 */
import { err, ok, type Result } from '@ingot/common';
import { ByteReader } from './reader.ts';

/** RFC 1350 §5 opcodes, plus OACK from RFC 2347. */
export const OPCODE = { rrq: 1, wrq: 2, data: 3, ack: 4, error: 5, oack: 6 } as const;

/** RFC 1350 §5 error codes; 8 is RFC 2347's "option negotiation failed". */
export const ERROR_CODE = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTransferId: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionNegotiation: 8,
} as const;

/** One option as sent on the wire: name and value, in the sender's order and case. */
export interface TftpOption {
  readonly name: string;
  readonly value: string;
}

/** A read or write request. `mode` keeps the client's case (`octet`, `NETASCII` …). */
export interface RequestPacket {
  readonly opcode: 'rrq' | 'wrq';
  readonly filename: string;
  readonly mode: string;
  readonly options: readonly TftpOption[];
}

/** One block of file data. `block` is the 16-bit wire number (it rolls over). */
export interface DataPacket {
  readonly opcode: 'data';
  readonly block: number;
  readonly data: Uint8Array;
}

/** Acknowledges `block` (0 acknowledges an OACK, RFC 2347). */
export interface AckPacket {
  readonly opcode: 'ack';
  readonly block: number;
}

/** Ends a transfer (RFC 1350 §7: an error is never acknowledged nor retransmitted). */
export interface ErrorPacket {
  readonly opcode: 'error';
  readonly code: number;
  readonly message: string;
}

/** Acknowledges the options the server accepted (RFC 2347). */
export interface OackPacket {
  readonly opcode: 'oack';
  readonly options: readonly TftpOption[];
}

/** Any TFTP packet. */
export type Packet = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

/** Why bytes are not a TFTP packet. */
export type DecodeError =
  | { readonly kind: 'truncated'; readonly detail: string }
  | { readonly kind: 'unknown-opcode'; readonly opcode: number }
  | { readonly kind: 'malformed'; readonly detail: string };

/**
 * Decodes one datagram. Never throws: anything that is not a TFTP packet is a `DecodeError`.
 * DATA payloads are views into `bytes` (no copy).
 */
export function decodePacket(bytes: Uint8Array): Result<Packet, DecodeError> {
  const reader = new ByteReader(bytes);
  const opcode = reader.u16();
  if (opcode === undefined) return err({ kind: 'truncated', detail: 'no opcode' });
  switch (opcode) {
    case OPCODE.rrq:
    case OPCODE.wrq:
      return decodeRequest(reader, opcode === OPCODE.rrq ? 'rrq' : 'wrq');
    case OPCODE.data: {
      const block = reader.u16();
      if (block === undefined) return err({ kind: 'truncated', detail: 'DATA without block' });
      return ok({ opcode: 'data', block, data: reader.rest() });
    }
    case OPCODE.ack: {
      const block = reader.u16();
      if (block === undefined) return err({ kind: 'truncated', detail: 'ACK without block' });
      // Lenient: trailing bytes after the block number are ignored, as tftp-hpa does.
      return ok({ opcode: 'ack', block });
    }
    case OPCODE.error: {
      const code = reader.u16();
      if (code === undefined) return err({ kind: 'truncated', detail: 'ERROR without code' });
      // Lenient: some senders omit the terminating NUL of errmsg; take what is there.
      const message = reader.cstring() ?? textOf(reader.rest());
      return ok({ opcode: 'error', code, message });
    }
    case OPCODE.oack: {
      const options = decodeOptions(reader);
      if (!options.ok) return options;
      return ok({ opcode: 'oack', options: options.value });
    }
    default:
      return err({ kind: 'unknown-opcode', opcode });
  }
}

function decodeRequest(reader: ByteReader, opcode: 'rrq' | 'wrq'): Result<Packet, DecodeError> {
  const filename = reader.cstring();
  if (filename === undefined) return err({ kind: 'truncated', detail: 'unterminated filename' });
  const mode = reader.cstring();
  if (mode === undefined) return err({ kind: 'truncated', detail: 'unterminated mode' });
  const options = decodeOptions(reader);
  if (!options.ok) return options;
  return ok({ opcode, filename, mode, options: options.value });
}

/** RFC 2347: NUL-terminated name/value pairs up to the end of the datagram. */
function decodeOptions(reader: ByteReader): Result<TftpOption[], DecodeError> {
  const options: TftpOption[] = [];
  while (reader.remaining() > 0) {
    const name = reader.cstring();
    const value = name === undefined ? undefined : reader.cstring();
    if (name === undefined || value === undefined) {
      return err({ kind: 'malformed', detail: 'unterminated option' });
    }
    options.push({ name, value });
  }
  return ok(options);
}

/**
 * Encodes one packet. Our own packets are always well formed, so invalid input (a block number
 * outside 0–65535, a NUL inside a string, a character above U+00FF) is a bug and throws.
 */
export function encodePacket(packet: Packet): Uint8Array {
  switch (packet.opcode) {
    case 'rrq':
    case 'wrq': {
      const strings = [packet.filename, packet.mode, ...optionStrings(packet.options)];
      return withStrings(OPCODE[packet.opcode], strings);
    }
    case 'data': {
      const bytes = new Uint8Array(4 + packet.data.length);
      writeHeader(bytes, OPCODE.data, packet.block);
      bytes.set(packet.data, 4);
      return bytes;
    }
    case 'ack': {
      const bytes = new Uint8Array(4);
      writeHeader(bytes, OPCODE.ack, packet.block);
      return bytes;
    }
    case 'error': {
      const message = stringBytes(packet.message);
      const bytes = new Uint8Array(4 + message.length + 1);
      writeHeader(bytes, OPCODE.error, packet.code);
      bytes.set(message, 4);
      return bytes;
    }
    case 'oack':
      return withStrings(OPCODE.oack, optionStrings(packet.options));
  }
}

/** Writes opcode and a second 16-bit field (block number or error code). */
function writeHeader(bytes: Uint8Array, opcode: number, second: number): void {
  if (!Number.isInteger(second) || second < 0 || second > 0xffff) {
    throw new RangeError(`16-bit field out of range: ${second}`);
  }
  bytes[0] = opcode >> 8;
  bytes[1] = opcode & 0xff;
  bytes[2] = second >> 8;
  bytes[3] = second & 0xff;
}

function optionStrings(options: readonly TftpOption[]): string[] {
  return options.flatMap((option) => [option.name, option.value]);
}

/** Opcode followed by NUL-terminated strings. */
function withStrings(opcode: number, strings: readonly string[]): Uint8Array {
  const encoded = strings.map(stringBytes);
  const bytes = new Uint8Array(2 + encoded.reduce((sum, s) => sum + s.length + 1, 0));
  bytes[1] = opcode;
  let offset = 2;
  for (const s of encoded) {
    bytes.set(s, offset);
    offset += s.length + 1; // the NUL is already there: Uint8Array starts zeroed
  }
  return bytes;
}

/** Latin-1 bytes of `text`, the inverse of the reader's `cstring`. */
function stringBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code > 0xff) {
      throw new RangeError(`not encodable in a TFTP string: U+${code.toString(16)}`);
    }
    bytes[i] = code;
  }
  return bytes;
}

function textOf(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) if (byte !== 0) text += String.fromCharCode(byte);
  return text;
}
