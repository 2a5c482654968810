import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, silentLogger } from '@ingot/common';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createBootResolver } from '../boot/boot-resolver.ts';
import type { BootResolver } from '../boot/resolver.ts';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import { createImageCache } from './image-cache.ts';
import { filesInPlans } from './prefetch.ts';

const MAC = '52:54:00:12:34:56' as MacAddress;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let server: Server;
let requests: string[];
let served: Map<string, Uint8Array>;
let dir: string;
let resolver: BootResolver;
let kernel: Uint8Array;
let root: Uint8Array;
/** The root image's name in the plan; the controller serves other bytes under it. */
let badRoot: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'image-route-'));
  kernel = new Uint8Array(randomBytes(5000));
  root = new Uint8Array(randomBytes(8000));
  badRoot = sha(new Uint8Array(randomBytes(100)));
  served = new Map([
    [sha(kernel), kernel],
    [sha(root), root],
    [badRoot, new Uint8Array(randomBytes(100))],
  ]);
  requests = [];
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get((req.url ?? '').split('/').at(-1) ?? '');
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const plan: BootPlan = {
    machineId: 'm-1',
    version: 1,
    macs: [MAC],
    purpose: 'install',
    os: 'debian',
    release: 'bookworm',
    arch: 'amd64',
    kernelParams: '',
    files: [
      { role: 'kernel', sha256: sha(kernel), sizeBytes: kernel.length, name: 'vmlinuz' },
      { role: 'root-image', sha256: badRoot, sizeBytes: 100, name: 'root.squashfs' },
    ],
    hostname: 'm-1',
    metadataToken: 't',
  };
  const images = createImageCache({
    imageDir: join(dir, 'images'),
    capacityBytes: 1 << 20,
    controllerHttpUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pinned: () => filesInPlans([plan]),
    clock: new FakeClock(),
    logger: silentLogger,
    maxAttempts: 2,
    sleep: () => Promise.resolve(),
  });
  resolver = createBootResolver({
    store: { bootPlanByMac: (mac) => (mac === MAC ? plan : undefined) },
    logger: silentLogger,
    config: { imageDir: join(dir, 'images'), loaderDirs: [] },
    images,
  });
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const fetchImage = (sha256: string) =>
  resolver.resolve({
    path: `/images/${sha256}`,
    protocol: 'http',
    clientAddress: '127.0.0.1',
    mac: MAC,
  });

it('fetches a planned file on a miss, verifies it, then serves it from the cache', async () => {
  const r = await fetchImage(sha(kernel));
  expect(r.ok && r.value.content).toEqual({ kind: 'file', path: join(dir, 'images', sha(kernel)) });
  expect(r.ok && r.value.step).toBe('boot.kernel');
  expect(readFileSync(join(dir, 'images', sha(kernel)))).toEqual(Buffer.from(kernel));
  expect((await fetchImage(sha(kernel))).ok).toBe(true);
  expect(requests).toEqual([`/api/v1/images/files/${sha(kernel)}`]);
});

it('answers not-found for a file no plan uses, without asking the controller', async () => {
  const r = await fetchImage(sha(root));
  expect(r).toEqual({ ok: false, error: { kind: 'not-found', path: `images/${sha(root)}` } });
  expect(requests).toEqual([]);
});

it('never serves a planned file whose bytes fail verification', async () => {
  const r = await fetchImage(badRoot);
  expect(r.ok).toBe(false);
  expect(requests).toHaveLength(2);
  expect(existsSync(join(dir, 'images', badRoot))).toBe(false);
});

it('does not serve a file dropped into the directory behind the cache', async () => {
  // The cache has scanned its directory (a first request waits for that)...
  expect((await fetchImage(sha(root))).ok).toBe(false);
  // ...so bytes planted later under a planned name were never checked: they are replaced.
  const planted = join(dir, 'images', sha(kernel));
  writeFileSync(planted, 'not the kernel');
  const r = await fetchImage(sha(kernel));
  expect(r.ok).toBe(true);
  expect(readFileSync(planted)).toEqual(Buffer.from(kernel));
});
