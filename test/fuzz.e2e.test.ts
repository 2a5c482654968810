/**
 * Bad input at the real processes' sockets, on 127.0.0.1 only: a controller and a rack agent
 * started as an operator starts them, then
 * - raw HTTP garbage at the controller (broken request lines, bad headers and framing, huge
 *   headers, JSON bombs over real TCP): never a 5xx, and it keeps answering;
 * - hostile DHCP datagrams at the agent's DHCP port (no subnets configured there, so it never
 *   answers and nothing leaves loopback): the serving loop still counts a DISCOVER afterwards;
 * - hostile TFTP requests and strays at the agent's TFTP port: curl still fetches the iPXE loader
 *   byte for byte afterwards.
 * Both processes must still be running at the end. Bounded by count and time; seeded (xorshift32)
 * so a failure replays. The unit-level fuzzers are packages/*\/src/**\/*.fuzz.test.ts.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './harness/processes.ts';
import { parsePrometheusText, sampleValue } from './harness/prometheus-text.ts';
import { startSite, type Site } from './harness/scenario.ts';

const SEED = 0xf22;
const HTTP_REQUESTS = 300;
const DHCP_DATAGRAMS = 5_000;
const TFTP_DATAGRAMS = 3_000;
const run = promisify(execFile);

/** xorshift32: reproducible from {@link SEED}. */
function random(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return Math.floor(((x >>> 0) / 0x1_0000_0000) * n);
  };
}

/** A raw HTTP/1.1 request that is wrong in one way or another. */
function badHttp(int: (n: number) => number, adminKey: string): Buffer {
  const auth = int(2) === 0 ? `Authorization: Bearer ${adminKey}\r\n` : '';
  const json = ['{"macs":[', '{"a":'.repeat(3000), '[]', '{"__proto__":{"x":1}}', '\u0000'][int(5)];
  const paths = [
    '/api/v1/machines',
    '/api/v1/machines/%zz',
    '/%',
    '/api/v1/../../etc/passwd',
    '/MAAS/api/2.0/machines/',
    '/MAAS/metadata/latest/user-data',
    '/ws?key=%zz',
    '/',
  ];
  const path = paths[int(paths.length)] ?? '/';
  const body = json ?? '';
  const wsQueries = [
    `key=${adminKey}&after=-1`,
    `key=${adminKey}&after=1e309`,
    `key=${adminKey}&after=%zz`,
    `key=${adminKey}&machine=..%2F..&after=0`,
    `key=${adminKey}&machine=${'m'.repeat(5000)}`,
    'key=%zz',
    'key=',
    `key=${adminKey}&key=x`,
  ];
  const wsQuery = wsQueries[int(wsQueries.length)] ?? '';
  const cases = [
    `GARBAGE\r\n\r\n`,
    `GET ${path}\r\n\r\n`,
    `GET ${path} HTTP/9.9\r\nHost: x\r\n\r\n`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n${body}`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n${body}`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Length: 1\r\n\r\n${body}`,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000 + int(60_000))}\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${'Bearer '.repeat(int(500))}\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth oauth_token="${'%'.repeat(int(50))}"\r\n\r\n`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nop=%zz&=&`,
    `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n`,
    `GET /ws?${wsQuery} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
  ];
  const text = cases[int(cases.length)] ?? cases[0] ?? '';
  const bytes = Buffer.from(text, 'latin1');
  // Sometimes flip a few bytes anywhere, request line included.
  if (int(4) === 0) for (let i = int(4); i >= 0; i--) bytes[int(bytes.length)] = int(256);
  return bytes;
}

/** Sends raw bytes, returns the status of the first response line (0: closed without one). */
function rawHttp(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    const done = (status: number): void => {
      socket.destroy();
      resolve(status);
    };
    socket.setTimeout(5_000, () => done(0));
    socket.on('error', () => done(0));
    socket.on('close', () => done(Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (match !== null) done(Number(match[1]));
    });
    socket.write(bytes, () => socket.end());
  });
}

/** A DHCP-looking datagram: header and cookie mostly right, options hostile, or plain noise. */
function badDhcp(int: (n: number) => number): Buffer {
  if (int(5) === 0) return Buffer.from(Array.from({ length: int(700) }, () => int(256)));
  const m = Buffer.alloc(240 + int(300));
  m[0] = int(10) === 0 ? int(256) : 1;
  m[1] = 1;
  m[2] = int(10) === 0 ? int(256) : 6;
  for (let i = 4; i < 236; i++) if (int(8) === 0) m[i] = int(256);
  Buffer.from([99, 130, 83, 99]).copy(m, 236);
  for (let at = 240; at < m.length;) {
    const code = [53, 55, 52, 0, 255, 61, 93, 60, int(256)][int(9)] ?? 0;
    const length = int(6) === 0 ? 255 : int(20);
    m[at++] = code;
    if (at < m.length) m[at++] = length;
    for (let i = 0; i < length && at < m.length; i++) m[at++] = code === 52 ? int(4) : int(256);
  }
  return m;
}

/** A TFTP-looking datagram: RRQs with odd names, modes and options, strays, or noise. */
function badTftp(int: (n: number) => number): Buffer {
  const names = ['undionly.kpxe', '../etc/passwd', '', 'x'.repeat(600), 'ipxe.efi', 'no\u0001such'];
  const modes = ['octet', 'netascii', 'mail', '', 'OCTET'];
  const options = ['blksize', 'tsize', 'windowsize', 'timeout', '__proto__', ''];
  const values = ['0', '7', '65465', '65536', '-1', 'x', '99999999999999999999', '1'];
  switch (int(4)) {
    case 0: {
      const parts = [names[int(names.length)], modes[int(modes.length)]];
      for (let i = int(5); i > 0; i--)
        parts.push(options[int(options.length)], values[int(values.length)]);
      const body = Buffer.from(parts.join('\0') + (int(4) === 0 ? '' : '\0'), 'latin1');
      return Buffer.concat([Buffer.from([0, int(4) === 0 ? 2 : 1]), body]);
    }
    case 1: // ACK, DATA, ERROR or OACK at the listening port
      return Buffer.from([
        0,
        3 + int(4),
        int(256),
        int(256),
        ...Array.from({ length: int(20) }, () => int(256)),
      ]);
    default:
      return Buffer.from(Array.from({ length: int(200) }, () => int(256)));
  }
}

async function sendAll(port: number, count: number, make: () => Buffer): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const started = Date.now();
  try {
    for (let i = 0; i < count && Date.now() - started < 30_000; i++) {
      await new Promise<void>((resolve) => socket.send(make(), port, '127.0.0.1', () => resolve()));
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

async function agentCounter(site: Site, type: string): Promise<number> {
  const res = await fetch(`${site.agent.url}/metrics`);
  return sampleValue(parsePrometheusText(await res.text()), 'ingot_dhcp_requests_total', { type });
}

describe('bad input at the processes’ sockets (loopback)', () => {
  let site: Site;
  let tftp: number;
  let dhcp: number;
  let stillRunning: () => boolean;

  beforeAll(async () => {
    tftp = await freePort();
    dhcp = await freePort();
    site = await startSite([], {
      tftp: `127.0.0.1:${tftp}`,
      args: ['--dhcp', String(dhcp)],
    });
    let exited = false;
    void site.agent.exited.then(() => (exited = true));
    void site.controller.exited.then(() => (exited = true));
    stillRunning = () => !exited;
  });
  afterAll(async () => {
    await site.cleanup();
  });

  it(`the controller answers ${HTTP_REQUESTS} malformed raw HTTP requests without a 5xx`, async () => {
    const int = random(SEED);
    const statuses = new Map<number, number>();
    const port = Number(new URL(site.controller.url).port);
    for (let i = 0; i < HTTP_REQUESTS; i++) {
      const bytes = badHttp(int, site.controller.adminKey);
      const status = await rawHttp(port, bytes);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(status, `request ${i}: ${bytes.toString('latin1').slice(0, 200)}`).toBeLessThan(500);
    }
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    const health = await fetch(`${site.controller.url}/healthz`);
    expect(health.status).toBe(200);
    expect(stillRunning()).toBe(true);
  });

  it(`the agent's DHCP loop still takes a DISCOVER after ${DHCP_DATAGRAMS} hostile datagrams`, async () => {
    const int = random(SEED + 1);
    const undecodable = await agentCounter(site, 'undecodable');
    await sendAll(dhcp, DHCP_DATAGRAMS, () => badDhcp(int));
    await waitFor('the storm to be counted', async () =>
      (await agentCounter(site, 'undecodable')) > undecodable ? true : undefined,
    );
    const discovers = await agentCounter(site, 'discover');
    const discover = Buffer.alloc(244);
    discover.set([1, 1, 6], 0);
    discover.set([0x52, 0x54, 0, 0xf2, 0x2f, 0x22], 28);
    discover.set([99, 130, 83, 99, 53, 1, 1, 255], 236);
    await sendAll(dhcp, 1, () => discover);
    await waitFor('the DISCOVER to be counted', async () =>
      (await agentCounter(site, 'discover')) > discovers ? true : undefined,
    );
    expect(stillRunning()).toBe(true);
  });

  it(`curl still fetches the iPXE loader over TFTP after ${TFTP_DATAGRAMS} hostile datagrams`, async () => {
    const int = random(SEED + 2);
    await sendAll(tftp, TFTP_DATAGRAMS, () => badTftp(int));
    const r = await run(
      'curl',
      ['--silent', '--fail', '--max-time', '20', `tftp://127.0.0.1:${tftp}/undionly.kpxe`],
      {
        encoding: 'buffer',
        maxBuffer: 16 << 20,
      },
    );
    expect(r.stdout.equals(readFileSync('/usr/lib/ipxe/undionly.kpxe'))).toBe(true);
    expect(stillRunning()).toBe(true);
  });
});
