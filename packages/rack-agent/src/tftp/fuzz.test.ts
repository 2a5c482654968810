import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type Packet } from './codec/packet.ts';
import { createTftpServer } from './server.ts';
import { createDirectoryResolver } from './testing/directory-resolver.ts';
import { openRawClient } from './testing/raw-client.ts';
import { createTransfer, transition } from './transfer.ts';
import { createUdpTransport } from './udp-transport.ts';

/** xorshift32: deterministic, so a failure replays with the same seed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const seeds: Packet[] = [
  {
    opcode: 'rrq',
    filename: 'small.bin',
    mode: 'octet',
    options: [
      { name: 'blksize', value: '1468' },
      { name: 'tsize', value: '0' },
      { name: 'windowsize', value: '16' },
      { name: 'timeout', value: '1' },
    ],
  },
  { opcode: 'rrq', filename: 'big.bin', mode: 'netascii', options: [] },
  { opcode: 'wrq', filename: 'x', mode: 'octet', options: [{ name: 'tsize', value: '99' }] },
  { opcode: 'data', block: 1, data: Uint8Array.of(1, 2, 3) },
  { opcode: 'ack', block: 0 },
  { opcode: 'ack', block: 65535 },
  { opcode: 'error', code: 8, message: 'bad option' },
  { opcode: 'oack', options: [{ name: 'blksize', value: '512' }] },
].map((p): Packet => p as Packet);
const seedBytes = seeds.map(encodePacket);

/** Half random datagrams, half seeds mutated by flips, truncation, insertion and splicing. */
function fuzzPacket(next: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(next() * n);
  if (next() < 0.5) return Uint8Array.from({ length: pick(600) }, () => pick(256));
  const base = Array.from(seedBytes[pick(seedBytes.length)] ?? []);
  for (let edits = 1 + pick(4); edits > 0; edits--) {
    switch (pick(5)) {
      case 0: // flip a byte
        if (base.length > 0) base[pick(base.length)] = pick(256);
        break;
      case 1: // truncate
        base.length = pick(base.length + 1);
        break;
      case 2: // insert bytes (NULs, digits or anything)
        base.splice(
          pick(base.length + 1),
          0,
          ...Array.from({ length: 1 + pick(8) }, () => [0, 48 + pick(10), pick(256)][pick(3)] ?? 0),
        );
        break;
      case 3: // a huge number as an option value
        base.push(...Array.from('99999999999', (c) => c.charCodeAt(0)), 0);
        break;
      default: // splice another seed's tail
        base.push(...(seedBytes[pick(seedBytes.length)] ?? []).slice(2));
    }
  }
  return Uint8Array.from(base);
}

describe('fuzz', () => {
  it('decodePacket and the transfer machine survive 200k random and mutated packets', () => {
    const next = random(0x1ced);
    let decoded = 0;
    const limits = { maxBlksize: 65464, maxWindowsize: 64, maxTimeoutSeconds: 10 };
    const policy = { initialMs: 1000, maxMs: 8000, maxRetries: 5 };
    for (let i = 0; i < 200_000; i++) {
      const result = decodePacket(fuzzPacket(next));
      if (!result.ok) continue;
      decoded++;
      const packet = result.value;
      expect(decodePacket(encodePacket(packet))).toEqual(result);
      if (packet.opcode === 'rrq') {
        const state = createTransfer({
          sizeBytes: Math.floor(next() * 1e7),
          requestOptions: packet.options,
          limits,
          policy,
        });
        const started = transition(state, { kind: 'start' });
        transition(started.state, { kind: 'ack', block: Math.floor(next() * 65536) });
        expect(state.blksize).toBeGreaterThanOrEqual(8);
        expect(state.windowsize).toBeLessThanOrEqual(64);
      }
    }
    expect(decoded).toBeGreaterThan(10_000);
  });

  it('the running server survives 20k datagrams over loopback with bounded memory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ingot-tftp-fuzz-'));
    await writeFile(join(root, 'small.bin'), new Uint8Array(3000).fill(7));
    await writeFile(join(root, 'big.bin'), new Uint8Array(64 * 1024).fill(9));
    const server = await createTftpServer(
      {
        host: '127.0.0.1',
        port: 0,
        maxTransfers: 256,
        retransmit: { initialMs: 50, maxMs: 100, maxRetries: 1 },
      },
      {
        resolver: createDirectoryResolver(root),
        createTransport: createUdpTransport,
        clock: systemClock,
        logger: silentLogger,
      },
    ).start();
    const port = server.address().port;
    const sockets: Socket[] = [];
    const transferPorts: number[] = [];
    for (let i = 0; i < 32; i++) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      socket.on('message', (_data, info) => {
        if (info.port !== port && transferPorts.length < 1000) transferPorts.push(info.port);
      });
      sockets.push(socket);
    }
    const next = random(0xbad5eed);
    const startedMs = Date.now();
    const rssBefore = process.memoryUsage().rss;
    let sent = 0;
    for (let batch = 0; batch < 200; batch++) {
      for (let i = 0; i < 100; i++) {
        const socket = sockets[Math.floor(next() * sockets.length)]!;
        const toTransfer = transferPorts.length > 0 && next() < 0.2;
        const target = toTransfer
          ? transferPorts[Math.floor(next() * transferPorts.length)]!
          : port;
        socket.send(fuzzPacket(next), target, '127.0.0.1');
        sent++;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const deadline = Date.now() + 10_000;
    while (server.activeTransfers() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    expect(sent).toBeGreaterThanOrEqual(20_000);
    expect(server.activeTransfers()).toBe(0);
    expect(rssGrowthMb).toBeLessThan(100);
    expect(Date.now() - startedMs).toBeLessThan(60_000);

    const client = await openRawClient();
    expect((await client.get('small.bin', port)).data).toEqual(new Uint8Array(3000).fill(7));
    await client.close();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await server.close();
    await rm(root, { recursive: true, force: true });
  }, 90_000);
});
