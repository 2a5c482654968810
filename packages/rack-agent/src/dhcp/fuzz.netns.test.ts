import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '@ingot/common';
import type { NetworkConfig } from '../domain/network-config.ts';
import type { Datagram, DatagramTransport } from '../net/datagram-transport.ts';
import { createDeviceTransport } from '../net/device-transport.ts';
import { decodeMessage, encodeMessage, type DhcpMessage } from './codec/message.ts';
import { optionData } from './codec/options.ts';
import { handle } from './handler/handle.ts';
import { compileNetwork } from './handler/network.ts';
import { createLeaseBook } from './leases.ts';
import { createNetnsLab, netnsAvailable, type Namespace, type NetnsLab } from './netns-lab.ts';
import { createDhcpServer, type DhcpServer } from './server.ts';

const CONFIG: NetworkConfig = {
  version: 1,
  subnets: [1, 2, 3].map((n) => ({
    cidr: `172.31.${n}.0/24`,
    gateway: `172.31.${n}.1`,
    dnsServers: [`172.31.${n}.1`],
    dynamicRanges: [{ start: `172.31.${n}.10`, end: `172.31.${n}.250` }],
    leaseSeconds: 60,
    domain: 'fuzz',
    dhcpMode: n === 3 ? ('proxy' as const) : ('managed' as const),
    interface: n === 3 ? 'lo' : '',
  })),
  reservations: [],
};
const NETWORK = compileNetwork(CONFIG, {
  localAddresses: [{ ifName: 'lo', address: '172.31.1.1' }],
});

const seeds: Uint8Array[] = ['dhclient-discover.bin', 'udhcpc-discover.bin'].map(
  (name) => new Uint8Array(readFileSync(new URL(`./codec/testdata/${name}`, import.meta.url))),
);

const BASE_RESULT = decodeMessage(seeds[0] ?? new Uint8Array(0));
if (!BASE_RESULT.ok) throw new Error('seed does not decode');
const BASE: DhcpMessage = BASE_RESULT.value;

/** xorshift32: fast and reproducible; fast-check's shrinking is not worth 800k runs here. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/** Random bytes, a mutated capture, or a structurally valid request with hostile fields. */
function makePacket(next: () => number, index: number): Uint8Array {
  const int = (n: number): number => Math.floor(next() * n);
  const kind = index % 3;
  if (kind === 0) return Uint8Array.from({ length: int(600) }, () => int(256));
  if (kind === 1) {
    const seed = seeds[int(seeds.length)] ?? new Uint8Array(0);
    const bytes = seed.slice(0, 236 + int(seed.length));
    for (let flips = int(12); flips > 0; flips--) bytes[int(bytes.length)] = int(256);
    return bytes;
  }
  const chaddr = Uint8Array.from({ length: 16 }, (_, i) => (i < 6 ? int(256) : 0));
  chaddr[0] = 0x52;
  const address = (): string => (next() < 0.5 ? '0.0.0.0' : `172.31.${int(4)}.${int(256)}`);
  const message: DhcpMessage = {
    ...BASE,
    hlen: next() < 0.9 ? 6 : int(20),
    chaddr,
    ciaddr: address(),
    giaddr: next() < 0.8 ? '0.0.0.0' : address(),
    options: [
      { code: 53, data: optionData.u8(1 + int(9)) },
      ...Array.from({ length: int(8) }, () => ({
        code: [50, 54, 60, 61, 77, 82, 93, 97, 175, 12][int(10)] ?? 50,
        data: Uint8Array.from({ length: int(20) }, () => int(256)),
      })),
    ],
  };
  return encodeMessage(message);
}

describe('DHCP fuzz', () => {
  it('feeds 840k random and mutated packets into decodeMessage and the handler', () => {
    const next = random(0x1d5c);
    const leases = createLeaseBook();
    const clock = new FakeClock();
    let decoded = 0;
    let replies = 0;
    for (let index = 0; index < 840_000; index++) {
      const result = decodeMessage(makePacket(next, index));
      if (!result.ok) continue;
      decoded++;
      const outcome = handle(
        {
          message: result.value,
          ifName: next() < 0.5 ? 'lo' : undefined,
          localPort: next() < 0.9 ? 67 : 4011,
          remoteAddress: '172.31.1.9',
          remotePort: 68,
        },
        { network: NETWORK, leases, nowMs: clock.now(), machineFor: () => undefined },
      );
      if (outcome.reply !== undefined) {
        replies++;
        if (!decodeMessage(encodeMessage(outcome.reply.message)).ok) throw new Error('bad reply');
      }
      if (index % 1000 === 0) {
        clock.advance(5_000);
        leases.expire(clock.now(), 10_000);
      }
    }
    expect(decoded).toBeGreaterThan(250_000);
    expect(replies).toBeGreaterThan(10_000);
    // Never more records than addresses in the ranges: the book cannot grow without bound.
    expect(leases.size()).toBeLessThanOrEqual(2 * 241);
    const owners = new Map<string, string>();
    for (const lease of leases.all()) {
      if (lease.state === 'bound' && lease.expiresAtMs > clock.now()) {
        expect(owners.has(lease.ip)).toBe(false);
        owners.set(lease.ip, lease.mac);
      }
    }
  }, 120_000);
});

// Skipped only off CI (no root): CI runs as root and must run it.
describe.skipIf(!netnsAvailable() && process.env.CI === undefined)(
  'DHCP fuzz against the running server (loopback in a netns)',
  () => {
    let lab: NetnsLab | undefined;
    let server: DhcpServer | undefined;
    let sender: DatagramTransport | undefined;

    beforeAll(async () => {
      const created = createNetnsLab('dhcpfuzz');
      lab = created;
      const ns: Namespace = created.namespace('lo');
      await ns.run(['ip', 'addr', 'add', '172.31.1.1/24', 'dev', 'lo']);
      const prefix = ['ip', 'netns', 'exec', ns.name];
      const listener = await createDeviceTransport({
        ifName: 'lo',
        port: 67,
        logger: silentLogger,
        commandPrefix: prefix,
      });
      sender = await createDeviceTransport({
        ifName: 'lo',
        port: 0,
        logger: silentLogger,
        commandPrefix: prefix,
      });
      server = createDhcpServer({
        listeners: [{ transport: listener, localPort: 67 }],
        leases: createLeaseBook(),
        network: NETWORK,
        machineFor: () => undefined,
        clock: new FakeClock(),
        logger: silentLogger,
      });
    }, 30_000);

    afterAll(async () => {
      await sender?.close();
      await server?.close();
      lab?.destroy();
    });

    it('survives 24k hostile datagrams, keeps memory bounded and still answers a real DISCOVER', async () => {
      const next = random(0xbeef);
      const heapBefore = process.memoryUsage().heapUsed;
      const replies: Datagram[] = [];
      sender!.onMessage((datagram) => replies.push(datagram));
      const started = Date.now();
      for (let index = 0; index < 24_000; index++) {
        await sender!.send(makePacket(next, index), { address: '172.31.1.1', port: 67 });
        if (index % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const deadline = Date.now() + 20_000;
      while (server!.stats().received < 23_000 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const stats = server!.stats();
      expect(stats.received).toBeGreaterThan(23_000);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
      // Liveness: a well-formed relayed DISCOVER after the storm is answered (to the relay, here).
      const base = decodeMessage(seeds[0] ?? new Uint8Array(0));
      if (!base.ok) throw new Error('seed does not decode');
      const before = stats.replied;
      await sender!.send(encodeMessage({ ...base.value, giaddr: '172.31.1.1' }), {
        address: '172.31.1.1',
        port: 67,
      });
      const live = Date.now() + 5_000;
      while (server!.stats().replied === before && Date.now() < live) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(server!.stats().replied).toBeGreaterThan(before);
    }, 90_000);
  },
);
