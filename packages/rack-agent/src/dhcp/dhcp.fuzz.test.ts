/**
 * Structure-aware DHCP fuzzing, bounded and seeded. Random bytes rarely get past the magic
 * cookie, so most inputs here are a valid BOOTP header followed by hostile options: lengths past
 * the end, option overload (52) pointing `file`/`sname` at garbage, option 55 lists repeated until
 * RFC 3396 concatenation makes them huge, PAD runs, END in the middle, no END, duplicate or empty
 * option 53. Two levels:
 * - the codec: `decodeMessage` never throws, fails only with a typed {@link DecodeError} whose
 *   offsets lie inside the packet, and what it decodes re-encodes to a fixed point;
 * - the running server on a real UDP socket on 127.0.0.1 (ephemeral port): {@link DATAGRAMS}
 *   hostile datagrams, then a plain DISCOVER still gets its OFFER, and the handler never threw.
 *
 * Loopback has no broadcast domain and the client port 68 is privileged, so the server's transport
 * here hands every reply to the test's socket (recording where the server addressed it); the
 * server, codec and handler are the agent's own. The netns variant is fuzz.netns.test.ts.
 */
import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import { FakeClock, type Logger } from '@ingot/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkConfig } from '../domain/network-config.ts';
import type { DatagramTransport, Destination } from '../net/datagram-transport.ts';
import { createUdpTransport } from '../net/udp-transport.ts';
import type { DecodeError } from './codec/errors.ts';
import { decodeMessage, encodeMessage } from './codec/message.ts';
import { messageTypeOf } from './codec/options.ts';
import { compileNetwork } from './handler/network.ts';
import { createLeaseBook } from './leases.ts';
import { createDhcpServer, type DhcpServer } from './server.ts';

const SEED = 0xd4c9;
const CODEC_RUNS = 6_000;
const DATAGRAMS = 5_000;

const COOKIE = [99, 130, 83, 99];
const KINDS: readonly DecodeError['kind'][] = [
  'too-short',
  'bad-op',
  'bad-cookie',
  'truncated-option',
];

/** The 236-byte BOOTP header of a request from `mac`, with fields fast-check may spoil. */
const header: fc.Arbitrary<number[]> = fc
  .record({
    op: fc.oneof({ weight: 9, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat(255) }),
    hlen: fc.oneof({ weight: 9, arbitrary: fc.constant(6) }, { weight: 1, arbitrary: fc.nat(255) }),
    xid: fc.nat(0xffffffff),
    flags: fc.nat(0xffff),
    giaddr: fc.oneof(
      { weight: 9, arbitrary: fc.constant([0, 0, 0, 0]) },
      { weight: 1, arbitrary: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }) },
    ),
    chaddr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // `sname`/`file` are read as options under overload 52: mostly option-like bytes.
    sname: fc.uint8Array({ minLength: 64, maxLength: 64, max: 60 }),
    file: fc.uint8Array({ minLength: 128, maxLength: 128, max: 60 }),
  })
  .map((h) => [
    h.op,
    1,
    h.hlen,
    0,
    (h.xid >>> 24) & 255,
    (h.xid >>> 16) & 255,
    (h.xid >>> 8) & 255,
    h.xid & 255,
    0,
    0,
    h.flags >> 8,
    h.flags & 255,
    ...new Array<number>(12).fill(0),
    ...h.giaddr,
    ...h.chaddr,
    ...h.sname,
    ...h.file,
  ]);

/** One option's bytes, honest or lying about its length. */
const option: fc.Arbitrary<number[]> = fc.oneof(
  // An honest option of any code.
  fc
    .tuple(fc.integer({ min: 1, max: 254 }), fc.uint8Array({ maxLength: 40 }))
    .map(([code, data]) => [code, data.length, ...data]),
  // Message type: valid, unknown, empty or too long.
  fc
    .tuple(fc.nat(20), fc.nat(3))
    .map(([type, len]) => [53, len, ...new Array<number>(len).fill(type)]),
  // A full 255-byte parameter request list (55); repeated, RFC 3396 concatenates the copies.
  fc.nat(255).map((fill) => [55, 255, ...new Array<number>(255).fill(fill)]),
  // Overload (52): 0–255, so `file` and `sname` may be read as options.
  fc.nat(255).map((value) => [52, 1, value]),
  // A length running past the end of the packet (when last) or into the next option.
  fc
    .tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 255 }))
    .map(([c, l]) => [c, l]),
  // PAD runs and an END in the middle.
  fc.nat(40).map((n) => new Array<number>(n).fill(0)),
  fc.constant<number[]>([255]),
  // A lone code byte with no length.
  fc.integer({ min: 1, max: 254 }).map((code) => [code]),
);

/** A hostile datagram: mostly header + cookie + spoiled options; some plain random bytes. */
const datagram: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(header, fc.array(option, { maxLength: 12 }), fc.boolean(), fc.nat(300))
      .map(([h, options, end, cut]) => {
        const bytes = [...h, ...COOKIE, ...options.flat(), ...(end ? [255] : [])];
        // Sometimes truncated anywhere, header included.
        return Uint8Array.from(cut < 30 ? bytes.slice(0, (cut * bytes.length) / 30) : bytes);
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 700 }) },
  { weight: 1, arbitrary: fc.nat(9_000).map((n) => new Uint8Array(n).fill(0x35)) },
);

describe('DHCP codec fuzz', () => {
  it(`decodes ${CODEC_RUNS} hostile packets to a message or a typed error, never a throw`, () => {
    let decoded = 0;
    fc.assert(
      fc.property(datagram, (bytes) => {
        const result = decodeMessage(bytes);
        if (!result.ok) {
          expect(KINDS).toContain(result.error.kind);
          if (result.error.kind === 'truncated-option') {
            expect(result.error.offset).toBeGreaterThanOrEqual(0);
            expect(result.error.offset).toBeLessThan(bytes.length);
          }
          return;
        }
        decoded++;
        // Re-encoding what was decoded reaches a fixed point: encode ∘ decode is stable.
        const once = encodeMessage(result.value);
        const again = decodeMessage(once);
        expect(again.ok).toBe(true);
        if (again.ok) expect(encodeMessage(again.value)).toEqual(once);
        for (const o of result.value.options) expect([0, 52, 255]).not.toContain(o.code);
      }),
      { seed: SEED, numRuns: CODEC_RUNS },
    );
    // The generator reaches past the header checks most of the time.
    expect(decoded).toBeGreaterThan(CODEC_RUNS / 4);
  });
});

/** A transport that delivers every reply to `client` and records where it was addressed. */
function towardsClient(
  inner: DatagramTransport,
  client: () => number,
  addressed: Destination[],
): DatagramTransport {
  return {
    onMessage: (handler) => inner.onMessage(handler),
    send(data, to) {
      if (addressed.length < 10_000) addressed.push(to);
      return inner.send(data, { address: '127.0.0.1', port: client() });
    },
    localAddress: () => inner.localAddress(),
    close: () => inner.close(),
  };
}

const CONFIG: NetworkConfig = {
  version: 1,
  subnets: [
    {
      cidr: '172.31.7.0/24',
      gateway: '172.31.7.1',
      dnsServers: ['172.31.7.1'],
      dynamicRanges: [{ start: '172.31.7.10', end: '172.31.7.250' }],
      leaseSeconds: 60,
      domain: 'fuzz',
      dhcpMode: 'managed',
      interface: '',
    },
  ],
  reservations: [],
};

describe('DHCP server fuzz over loopback', () => {
  let server: DhcpServer;
  let client: Socket;
  let port = 0;
  const errors: string[] = [];
  const addressed: Destination[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (message) => void errors.push(message),
    child: () => logger,
  };

  beforeAll(async () => {
    client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const transport = await createUdpTransport({
      address: '127.0.0.1',
      port: 0,
      receiveBufferBytes: 4 << 20,
    });
    port = transport.localAddress().port;
    server = createDhcpServer({
      listeners: [
        {
          transport: towardsClient(transport, () => client.address().port, addressed),
          localPort: 67,
        },
      ],
      leases: createLeaseBook(),
      // The subnet is data only: no datagram leaves 127.0.0.1.
      network: compileNetwork(CONFIG, { localAddresses: [{ ifName: '', address: '172.31.7.1' }] }),
      machineFor: () => undefined,
      clock: new FakeClock(),
      logger,
    });
  });

  afterAll(async () => {
    await server.close();
    await new Promise<void>((resolve) => client.close(() => resolve()));
  });

  it(`answers a DISCOVER after ${DATAGRAMS} hostile datagrams, and never threw`, async () => {
    const packets = fc.sample(datagram, { seed: SEED + 1, numRuns: DATAGRAMS });
    const started = Date.now();
    for (const [index, packet] of packets.entries()) {
      await new Promise<void>((resolve, reject) =>
        client.send(packet, port, '127.0.0.1', (e) => (e === null ? resolve() : reject(e))),
      );
      if (index % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 2));
      expect(Date.now() - started, `sent ${index} in time`).toBeLessThan(30_000);
    }
    const deadline = Date.now() + 10_000;
    while (server.stats().received < DATAGRAMS * 0.9 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stats = server.stats();
    expect(stats.received).toBeGreaterThan(DATAGRAMS * 0.9);
    expect(stats.decodeErrors).toBeGreaterThan(0);
    expect(errors).toEqual([]);

    // Liveness: a well-formed DISCOVER from a new client is offered an address in the range.
    const xid = 0x5eed_f00d;
    const offer = new Promise<Uint8Array>((resolve) => {
      client.on('message', (data) => {
        const m = decodeMessage(data);
        if (m.ok && m.value.xid === xid) resolve(data);
      });
    });
    const discover = encodeMessage({
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid,
      secs: 0,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: Uint8Array.from([0x52, 0x54, 0, 0xfa, 0xce, 0x01, ...new Array<number>(10).fill(0)]),
      sname: '',
      file: '',
      options: [{ code: 53, data: Uint8Array.of(1) }],
    });
    const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, 5_000, undefined));
    client.send(discover, port, '127.0.0.1');
    const reply = await Promise.race([offer, timeout]);
    expect(reply, 'an OFFER within 5 s').toBeDefined();
    const decoded = decodeMessage(reply ?? new Uint8Array(0));
    if (!decoded.ok) throw new Error(decoded.error.kind);
    expect(messageTypeOf(decoded.value.options)).toBe('offer');
    expect(decoded.value.yiaddr).toMatch(/^172\.31\.7\.\d+$/);
    expect(addressed.at(-1)).toMatchObject({ address: '255.255.255.255', port: 68 });
    expect(errors).toEqual([]);
  }, 60_000);
});
