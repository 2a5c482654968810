/**
 * The DHCP client side of a simulated machine (RFC 2131, RFC 2132, RFC 4578): DISCOVER and
 * REQUEST as PXE firmware, iPXE and busybox udhcpc send them, and OFFER/ACK/NAK decoded. Pure:
 * no sockets, no clock.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+---------------+---------------+
 * |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 * |                            xid (4)                            |
 * |           secs (2)            |           flags (2)           |
 * |  ciaddr (4) yiaddr (4) siaddr (4) giaddr (4)  chaddr (16)     |
 * |  sname (64)   file (128)   magic cookie 63.82.53.63   options |
 * +---------------------------------------------------------------+
 * ```
 */

/** Which program sends the request: each identifies itself differently (option 60/77/93). */
export type DhcpClientKind = 'pxe-bios' | 'ipxe' | 'udhcpc';

/** DHCP message types (RFC 2132 §9.6) the client sends or reads. */
export const DHCP = { DISCOVER: 1, OFFER: 2, REQUEST: 3, ACK: 5, NAK: 6 } as const;

const MAGIC = [99, 130, 83, 99];
const HEADER = 236;

/** A request to encode. */
export interface DhcpRequest {
  readonly type: typeof DHCP.DISCOVER | typeof DHCP.REQUEST;
  readonly xid: number;
  readonly mac: string;
  readonly kind: DhcpClientKind;
  /** REQUEST in SELECTING state: the offered address (50) and the server (54). */
  readonly requestedIp?: string | undefined;
  readonly serverId?: string | undefined;
  /** Seconds since the client began (RFC 2131 `secs`). */
  readonly secs?: number | undefined;
  readonly hostname?: string | undefined;
}

/** A decoded server reply. */
export interface DhcpReply {
  readonly type: number;
  readonly xid: number;
  readonly mac: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  /** Boot file (`file` field, or option 67 when present). */
  readonly file: string;
  readonly serverId: string | undefined;
  readonly leaseSeconds: number | undefined;
}

/** Encodes a client request with the options its `kind` sends, broadcast flag set. */
export function encodeDhcpRequest(request: DhcpRequest): Uint8Array {
  const options: number[] = [53, 1, request.type];
  const text = (code: number, value: string): void => {
    const bytes = [...new TextEncoder().encode(value)];
    options.push(code, bytes.length, ...bytes);
  };
  if (request.requestedIp !== undefined) options.push(50, 4, ...ipBytes(request.requestedIp));
  if (request.serverId !== undefined) options.push(54, 4, ...ipBytes(request.serverId));
  options.push(57, 2, 0x05, 0xc0); // max message size 1472
  if (request.kind === 'pxe-bios' || request.kind === 'ipxe') {
    // PXE spec 2.1 §2.4 and RFC 4578: vendor class, arch 0 (x86 BIOS), UNDI 2.1, UUID.
    text(60, 'PXEClient:Arch:00000:UNDI:002001');
    options.push(93, 2, 0, 0);
    options.push(94, 3, 1, 2, 1);
    options.push(97, 17, 0, ...macBytes(request.mac), ...new Array<number>(10).fill(0x11));
    if (request.kind === 'ipxe') text(77, 'iPXE');
    options.push(55, 8, 1, 3, 6, 12, 15, 17, 43, 60);
  } else {
    text(60, 'udhcp 1.35.0');
    if (request.hostname !== undefined) text(12, request.hostname);
    options.push(55, 6, 1, 3, 6, 12, 15, 28);
  }
  options.push(255);
  const out = new Uint8Array(HEADER + 4 + options.length);
  const view = new DataView(out.buffer);
  out[0] = 1; // BOOTREQUEST
  out[1] = 1; // Ethernet
  out[2] = 6;
  view.setUint32(4, request.xid >>> 0);
  view.setUint16(8, Math.min(request.secs ?? 0, 0xffff));
  view.setUint16(10, 0x8000); // broadcast: the client has no address to unicast to yet
  out.set(macBytes(request.mac), 28);
  out.set(MAGIC, HEADER);
  out.set(options, HEADER + 4);
  return out;
}

/** Decodes a server reply; `undefined` for anything that is not a well-formed BOOTREPLY. */
export function decodeDhcpReply(bytes: Uint8Array): DhcpReply | undefined {
  if (bytes.length < HEADER + 4 || bytes[0] !== 2) return undefined;
  for (let i = 0; i < 4; i++) if (bytes[HEADER + i] !== MAGIC[i]) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let type: number | undefined;
  let serverId: string | undefined;
  let leaseSeconds: number | undefined;
  let bootfile: string | undefined;
  for (let i = HEADER + 4; i < bytes.length;) {
    const code = bytes[i] ?? 255;
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    const length = bytes[i + 1];
    if (length === undefined || i + 2 + length > bytes.length) return undefined;
    const data = bytes.subarray(i + 2, i + 2 + length);
    if (code === 53 && length === 1) type = data[0];
    if (code === 54 && length === 4) serverId = ipText(data);
    if (code === 51 && length === 4) leaseSeconds = view.getUint32(i + 2);
    if (code === 67) bootfile = cString(data);
    i += 2 + length;
  }
  if (type === undefined) return undefined;
  return {
    type,
    xid: view.getUint32(4),
    mac: [...bytes.subarray(28, 34)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
    yiaddr: ipText(bytes.subarray(16, 20)),
    siaddr: ipText(bytes.subarray(20, 24)),
    file: bootfile ?? cString(bytes.subarray(108, 236)),
    serverId,
    leaseSeconds,
  };
}

function cString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end === -1 ? data : data.subarray(0, end));
}

function ipText(data: Uint8Array): string {
  return [...data.subarray(0, 4)].join('.');
}

function ipBytes(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return parts;
}

function macBytes(mac: string): number[] {
  const parts = mac.split(':').map((p) => Number.parseInt(p, 16));
  if (parts.length !== 6 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not a MAC address: ${mac}`);
  return parts;
}
