/**
 * Structure-aware TFTP fuzzing, bounded and seeded: read requests that are almost right (no NUL,
 * odd modes, unknown and repeated options, blksize 0/7/65465/65536/garbage, tsize, windowsize 0,
 * timeout out of range, `__proto__`/`constructor` option names, a name without a value), then
 * stray DATA/ACK/ERROR/OACK sent to the listening port and to live transfer ports. Checks:
 * - codec and negotiation: `decodePacket` returns a packet or a typed error, never throws; what
 *   an RRQ negotiates stays inside RFC 2348/7440 bounds and the server's limits, and the OACK
 *   names only options the client sent;
 * - the running server on 127.0.0.1 (ephemeral port): every decodable request is answered with
 *   ERROR, OACK or DATA 1 (never silence, never an out-of-bounds OACK); after the stray storm
 *   nothing is left running, nothing was logged as an error, and curl still fetches a file
 *   byte for byte.
 * The byte-level mutation fuzz is fuzz.test.ts.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { systemClock, type Logger } from '@ingot/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type DecodeError } from './codec/packet.ts';
import { BLKSIZE_MAX, BLKSIZE_MIN, negotiateOptions } from './codec/options.ts';
import { createTftpServer, type TftpServerHandle } from './server.ts';
import { createDirectoryResolver } from './testing/directory-resolver.ts';
import { createUdpTransport } from './udp-transport.ts';

const SEED = 0x7f7f;
const CODEC_RUNS = 5_000;
const REQUESTS = 300;
const STRAYS = 3_000;
const LIMITS = { maxBlksize: 1468, maxWindowsize: 16, maxTimeoutSeconds: 10 };
const KINDS: readonly DecodeError['kind'][] = ['truncated', 'unknown-opcode', 'malformed'];

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0) & 255);

const optionName = fc.oneof(
  fc.constantFrom(
    'blksize',
    'BLKSIZE',
    'tsize',
    'windowsize',
    'timeout',
    'multicast',
    '',
    '__proto__',
    'constructor',
    'toString',
  ),
  fc.string({
    unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
    maxLength: 12,
  }),
);
const optionValue = fc.oneof(
  fc.constantFrom(
    '0',
    '7',
    '8',
    '512',
    '1468',
    '65464',
    '65465',
    '65536',
    '99999999999999999999',
    '-1',
    '1e3',
    '0x10',
    '',
    ' 8',
    '8 ',
    '+8',
    'garbage',
    '256',
    '255',
  ),
  fc.nat().map(String),
);

/** An RRQ (or WRQ) as bytes, with every part open to being wrong. */
const request: fc.Arbitrary<Uint8Array> = fc
  .record({
    opcode: fc.oneof({ weight: 9, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat(8) }),
    filename: fc.oneof(
      fc.constantFrom(
        'small.bin',
        'SMALL.BIN',
        'missing.bin',
        '../small.bin',
        '/small.bin',
        '',
        'a/../small.bin',
      ),
      fc.nat(700).map((n) => 'f'.repeat(n)),
      fc.string({
        unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
        maxLength: 30,
      }),
    ),
    mode: fc.constantFrom(
      'octet',
      'netascii',
      'OCTET',
      'NetASCII',
      'mail',
      '',
      'binary',
      'octet\u0001',
    ),
    options: fc.array(fc.tuple(optionName, optionValue), { maxLength: 6 }),
    // How the packet ends: complete, without its final NUL, or with a name and no value.
    ending: fc.oneof(
      { weight: 6, arbitrary: fc.constant('complete') },
      { weight: 1, arbitrary: fc.constantFrom('no-nul', 'dangling-name', 'extra-nuls') },
    ),
  })
  .map((r) => {
    const bytes = [0, r.opcode, ...ascii(r.filename), 0, ...ascii(r.mode), 0];
    for (const [name, value] of r.options) bytes.push(...ascii(name), 0, ...ascii(value), 0);
    if (r.ending === 'no-nul') bytes.pop();
    if (r.ending === 'dangling-name') bytes.push(...ascii('blksize'), 0);
    if (r.ending === 'extra-nuls') bytes.push(0, 0, 0);
    return Uint8Array.from(bytes);
  });

/** Stray packets: well-formed DATA/ACK/ERROR/OACK with odd numbers, and garbage. */
const stray: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.nat(0xffff).map((block) => encodePacket({ opcode: 'ack', block })),
  fc
    .tuple(fc.nat(0xffff), fc.uint8Array({ maxLength: 600 }))
    .map(([block, data]) => encodePacket({ opcode: 'data', block, data })),
  fc.nat(0xffff).map((code) => encodePacket({ opcode: 'error', code, message: 'stray' })),
  fc.constant(encodePacket({ opcode: 'oack', options: [{ name: 'blksize', value: '8' }] })),
  fc.uint8Array({ maxLength: 100 }),
  fc.constant(new Uint8Array(0)),
);

describe('TFTP codec and negotiation fuzz', () => {
  it(`${CODEC_RUNS} malformed requests: a packet or a typed error; negotiation within bounds`, () => {
    let requests = 0;
    fc.assert(
      fc.property(request, fc.nat(1 << 30), (bytes, sizeBytes) => {
        const decoded = decodePacket(bytes);
        if (!decoded.ok) {
          expect(KINDS).toContain(decoded.error.kind);
          return;
        }
        const packet = decoded.value;
        if (packet.opcode !== 'rrq') return;
        requests++;
        const n = negotiateOptions(packet.options, LIMITS, sizeBytes);
        expect(n.blksize).toBeGreaterThanOrEqual(BLKSIZE_MIN);
        expect(n.blksize).toBeLessThanOrEqual(Math.min(LIMITS.maxBlksize, BLKSIZE_MAX));
        expect(n.windowsize).toBeGreaterThanOrEqual(1);
        expect(n.windowsize).toBeLessThanOrEqual(LIMITS.maxWindowsize);
        expect(n.timeoutMs ?? 0).toBeLessThanOrEqual(LIMITS.maxTimeoutSeconds * 1000);
        const asked = new Set(packet.options.map((o) => o.name.toLowerCase()));
        for (const o of n.acknowledged) {
          expect(['blksize', 'tsize', 'windowsize', 'timeout']).toContain(o.name.toLowerCase());
          expect(asked.has(o.name.toLowerCase())).toBe(true);
          expect(o.value).toMatch(/^\d+$/);
        }
      }),
      { seed: SEED, numRuns: CODEC_RUNS },
    );
    expect(requests).toBeGreaterThan(CODEC_RUNS / 4);
  });
});

describe('TFTP server fuzz over loopback', () => {
  let root: string;
  let server: TftpServerHandle;
  let port: number;
  const content = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 255);
  const errors: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (message) => void errors.push(message),
    child: () => logger,
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ingot-tftp-fuzz-'));
    await writeFile(join(root, 'small.bin'), content);
    server = await createTftpServer(
      {
        host: '127.0.0.1',
        port: 0,
        maxTransfers: 512,
        ...LIMITS,
        retransmit: { initialMs: 400, maxMs: 800, maxRetries: 3 },
      },
      {
        resolver: createDirectoryResolver(root),
        createTransport: createUdpTransport,
        clock: systemClock,
        logger,
      },
    ).start();
    port = server.address().port;
  });

  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it(`answers ${REQUESTS} malformed requests, shrugs off ${STRAYS} strays, then serves curl`, async () => {
    const packets = fc.sample(request, { seed: SEED + 1, numRuns: REQUESTS });
    const transferPorts = new Set<number>();
    let longLived = 0;
    const started = Date.now();
    for (let at = 0; at < packets.length; at += 100) {
      const batch = packets.slice(at, at + 100);
      const answers = await Promise.all(batch.map((p) => ask(p, port)));
      for (const [i, answer] of answers.entries()) {
        const sent = batch[i] ?? new Uint8Array(0);
        const decoded = decodePacket(sent);
        const where = `request ${JSON.stringify(Array.from(sent.subarray(0, 80)))}`;
        const expectsAnswer =
          decoded.ok && (decoded.value.opcode === 'rrq' || decoded.value.opcode === 'wrq');
        if (!expectsAnswer) continue;
        expect(answer, `${where}: an answer`).toBeDefined();
        if (answer === undefined) continue;
        const reply = decodePacket(answer.data);
        expect(reply.ok, where).toBe(true);
        if (!reply.ok) continue;
        expect(['error', 'oack', 'data'], where).toContain(reply.value.opcode);
        if (reply.value.opcode === 'data') expect(reply.value.block, where).toBe(1);
        if (reply.value.opcode === 'oack') {
          for (const o of reply.value.options) {
            const value = Number(o.value);
            if (o.name.toLowerCase() === 'timeout') {
              expect(value, where).toBeLessThanOrEqual(LIMITS.maxTimeoutSeconds);
              if (value > 1) longLived++;
            }
            if (o.name === 'blksize') expect(value, where).toBeLessThanOrEqual(LIMITS.maxBlksize);
            if (o.name === 'blksize') expect(value, where).toBeGreaterThanOrEqual(BLKSIZE_MIN);
            if (o.name === 'windowsize')
              expect(value, where).toBeLessThanOrEqual(LIMITS.maxWindowsize);
          }
        }
        if (answer.port !== port) transferPorts.add(answer.port);
      }
    }
    expect(transferPorts.size).toBeGreaterThan(0);

    // Stray packets at the listening port and at transfers in progress.
    const sockets = await Promise.all(Array.from({ length: 8 }, () => bound()));
    const targets = [port, ...transferPorts];
    const strays = fc.sample(fc.tuple(stray, fc.nat(), fc.nat()), {
      seed: SEED + 2,
      numRuns: STRAYS,
    });
    for (const [index, [packet, to, from]] of strays.entries()) {
      const socket = sockets[from % sockets.length];
      socket?.send(packet, targets[to % targets.length] ?? port, '127.0.0.1');
      if (index % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const deadline = Date.now() + 10_000;
    while (server.activeTransfers() > longLived && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // A client that negotiated an RFC 2349 timeout (at most LIMITS.maxTimeoutSeconds) holds its
    // transfer that long × retries; every other transfer has ended.
    expect(server.activeTransfers()).toBeLessThanOrEqual(longLived);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(errors).toEqual([]);

    // Liveness with a client no one here wrote.
    const out = join(root, 'fetched.bin');
    for (const args of [[], ['--tftp-blksize', '1024']]) {
      const code = await new Promise<number>((resolve) =>
        execFile(
          'curl',
          ['-sS', '--max-time', '20', ...args, '-o', out, `tftp://127.0.0.1:${port}/small.bin`],
          (error) => resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : -1),
        ),
      );
      expect(code, `curl ${args.join(' ')}`).toBe(0);
      expect(new Uint8Array(await readFile(out))).toEqual(content);
    }
  }, 60_000);
});

function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

/** Sends one packet from a fresh socket; the first reply within 1.5 s, with its source port. */
async function ask(
  packet: Uint8Array,
  port: number,
): Promise<{ data: Uint8Array; port: number } | undefined> {
  const socket = await bound();
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(resolve, 1_500, undefined);
      socket.once('message', (data, from) => {
        clearTimeout(timer);
        resolve({ data: new Uint8Array(data), port: from.port });
      });
      socket.send(packet, port, '127.0.0.1');
    });
  } finally {
    // Closing abandons the transfer: the server's retransmissions then time out (bounded).
    socket.close();
  }
}
