/**
 * A boot-traffic timeline for the lab, independent of which DHCP/TFTP server answers: `tcpdump`
 * inside the lab namespace writes pcap to stdout (`-U -w -`), and this module decodes just enough
 * of each frame to tell DHCPv4 messages (RFC 2131, option 53), TFTP read requests (RFC 1350) and
 * ICMPv6 router solicitations/advertisements (RFC 4861) apart, with the kernel's capture time.
 * That gives "first DHCPDISCOVER" for DHCP → kernel start, and shows iPXE's IPv6 wait.
 */
import type { ChildProcess } from 'node:child_process';
import type { LabNetwork } from '@ingot/lab/netns.ts';

/** Kinds of packets the timeline records. */
export type BootPacketKind =
  | 'dhcp-discover'
  | 'dhcp-offer'
  | 'dhcp-request'
  | 'dhcp-decline'
  | 'dhcp-ack'
  | 'dhcp-nak'
  | 'dhcp-release'
  | 'dhcp-inform'
  | 'tftp-read'
  | 'router-solicitation'
  | 'router-advertisement';

/** One recorded packet. */
export interface BootPacket {
  /** Capture time, ms since the epoch (comparable with `Date.now()`). */
  readonly atMs: number;
  readonly kind: BootPacketKind;
  /** Ethernet source MAC, lower case with colons. */
  readonly srcMac: string;
  /** DHCP: the client hardware address (chaddr); otherwise the Ethernet source. */
  readonly clientMac: string;
  /** DHCP: option 77 user class as text (e.g. `iPXE`) when present; TFTP: the file name. */
  readonly detail?: string;
}

/** A running capture; see the module comment. */
export interface BootCapture {
  /** Packets so far, in capture order. */
  packets(): readonly BootPacket[];
  /** The first packet of `kind` from/for `mac` (case-insensitive), if any. */
  first(kind: BootPacketKind, mac?: string): BootPacket | undefined;
  /**
   * Resolves once tcpdump has started (it prints "listening on" to stderr).
   *
   * @throws after `timeoutMs` or when tcpdump exits.
   */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops tcpdump (by PID). */
  stop(): Promise<void>;
}

const DHCP_TYPES: Record<number, BootPacketKind> = {
  1: 'dhcp-discover',
  2: 'dhcp-offer',
  3: 'dhcp-request',
  4: 'dhcp-decline',
  5: 'dhcp-ack',
  6: 'dhcp-nak',
  7: 'dhcp-release',
  8: 'dhcp-inform',
};

/**
 * Starts `tcpdump -i <bridge>` in the lab namespace for DHCP (67/68), TFTP requests (69) and
 * ICMPv6 (router solicitations/advertisements).
 */
export function startBootCapture(lab: LabNetwork, iface = lab.bridge): BootCapture {
  const child: ChildProcess = lab.spawn(
    'tcpdump',
    [
      '-i',
      iface,
      '-U',
      '-w',
      '-',
      '-s',
      '1500',
      'udp port 67 or udp port 68 or udp port 69 or icmp6',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const packets: BootPacket[] = [];
  let buffer = Buffer.alloc(0);
  let headerSeen = false;
  let littleEndian = true;
  let nanos = false;
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    if (!headerSeen) {
      if (buffer.length < 24) return;
      const magic = buffer.readUInt32LE(0);
      // pcap magic: a1b2c3d4 (µs) or a1b23c4d (ns), in the writer's byte order.
      littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
      const m = littleEndian ? magic : buffer.readUInt32BE(0);
      nanos = m === 0xa1b23c4d;
      headerSeen = true;
      buffer = buffer.subarray(24);
    }
    while (buffer.length >= 16) {
      const u32 = (o: number): number =>
        littleEndian ? buffer.readUInt32LE(o) : buffer.readUInt32BE(o);
      const sec = u32(0);
      const frac = u32(4);
      const caplen = u32(8);
      if (buffer.length < 16 + caplen) break;
      const frame = buffer.subarray(16, 16 + caplen);
      buffer = buffer.subarray(16 + caplen);
      const atMs = sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3);
      const packet = decodeFrame(frame, atMs);
      if (packet !== undefined) packets.push(packet);
    }
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  return {
    packets: () => packets,
    first(kind, mac) {
      const want = mac?.toLowerCase();
      return packets.find((p) => p.kind === kind && (want === undefined || p.clientMac === want));
    },
    async ready(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!stderr.includes('listening on')) {
        if (child.exitCode !== null) throw new Error(`tcpdump exited: ${stderr.trim()}`);
        if (Date.now() > deadline) throw new Error(`tcpdump not ready: ${stderr.trim()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function mac(b: Buffer, offset: number): string {
  return [...b.subarray(offset, offset + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Decodes an Ethernet frame into a timeline entry, or undefined for anything else. */
function decodeFrame(frame: Buffer, atMs: number): BootPacket | undefined {
  if (frame.length < 14) return undefined;
  const srcMac = mac(frame, 6);
  const etherType = frame.readUInt16BE(12);
  if (etherType === 0x0800) {
    const ip = frame.subarray(14);
    if (ip.length < 20 || ip[9] !== 17) return undefined; // UDP only
    const ihl = (ip[0]! & 0x0f) * 4;
    const udp = ip.subarray(ihl);
    if (udp.length < 8) return undefined;
    const dstPort = udp.readUInt16BE(2);
    const payload = udp.subarray(8);
    if (dstPort === 69 && payload.length > 2 && payload.readUInt16BE(0) === 1) {
      const end = payload.indexOf(0, 2);
      return {
        atMs,
        kind: 'tftp-read',
        srcMac,
        clientMac: srcMac,
        detail: payload.subarray(2, end < 0 ? undefined : end).toString('latin1'),
      };
    }
    if (dstPort !== 67 && dstPort !== 68) return undefined;
    return decodeDhcp(payload, atMs, srcMac);
  }
  if (etherType === 0x86dd) {
    const ip6 = frame.subarray(14);
    if (ip6.length < 41 || ip6[6] !== 58) return undefined; // ICMPv6, no extension headers
    const type = ip6[40];
    if (type === 133) return { atMs, kind: 'router-solicitation', srcMac, clientMac: srcMac };
    if (type === 134) return { atMs, kind: 'router-advertisement', srcMac, clientMac: srcMac };
  }
  return undefined;
}

function decodeDhcp(p: Buffer, atMs: number, srcMac: string): BootPacket | undefined {
  // RFC 2131 §2: fixed 236-byte header, then the magic cookie 99.130.83.99 and options.
  if (p.length < 240 || p.readUInt32BE(236) !== 0x63825363) return undefined;
  const clientMac = mac(p, 28);
  let kind: BootPacketKind | undefined;
  let userClass: string | undefined;
  for (let i = 240; i < p.length;) {
    const code = p[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255 || i + 1 >= p.length) break;
    const len = p[i + 1]!;
    const value = p.subarray(i + 2, i + 2 + len);
    if (code === 53 && len === 1) kind = DHCP_TYPES[value[0]!];
    if (code === 77) userClass = value.toString('latin1').replace(/[^\x20-\x7e]/g, '');
    i += 2 + len;
  }
  if (kind === undefined) return undefined;
  return userClass === undefined
    ? { atMs, kind, srcMac, clientMac }
    : { atMs, kind, srcMac, clientMac, detail: userClass };
}
