import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@ingot/common';
import type { BootFetch } from '../boot/boot-events.ts';
import { createBootResolver } from '../boot/boot-resolver.ts';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import { createHttpApp } from '../http/http-server.ts';
import { createMachineApi } from '../http/machine-api.ts';
import { createEventRecorder } from '../events/event-recorder.ts';
import { createHttpBootApi } from './http-boot-api.ts';

const MAC = '52:54:00:12:34:56' as MacAddress;
const KERNEL = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const K = 'a'.repeat(64);
const PLAN: BootPlan = {
  machineId: 'm-1',
  version: 1,
  macs: [MAC],
  purpose: 'install',
  os: 'debian',
  release: 'bookworm',
  arch: 'amd64',
  kernelParams: '',
  files: [
    { role: 'kernel', sha256: K, sizeBytes: 1000, name: 'vmlinuz' },
    { role: 'initrd', sha256: 'b'.repeat(64), sizeBytes: 1, name: 'initrd' },
  ],
  hostname: 'node1',
  metadataToken: 'tok',
};

let root: string;
let app: ReturnType<typeof createHttpApp>;
const fetches: BootFetch[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'http-boot-'));
  mkdirSync(join(root, 'images'));
  mkdirSync(join(root, 'loaders'));
  writeFileSync(join(root, 'images', K), KERNEL);
  writeFileSync(join(root, 'loaders', 'ipxe.efi'), 'efi');
  const store = { bootPlanByMac: (mac: MacAddress) => (mac === MAC ? PLAN : undefined) };
  const resolver = createBootResolver({
    store,
    logger: silentLogger,
    config: { imageDir: join(root, 'images'), loaderDirs: [join(root, 'loaders')] },
  });
  app = createHttpApp(silentLogger);
  const recorder = createEventRecorder({
    store: { appendOutbox: () => undefined } as never,
    clock: { now: () => 0 },
    logger: silentLogger,
  });
  app.route(
    '/',
    createMachineApi({
      store: { ...store, bootPlan: () => undefined },
      recorder,
      logger: silentLogger,
    }),
  );
  app.route(
    '/',
    createHttpBootApi({ resolver, onFetch: (f) => fetches.push(f), logger: silentLogger }),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  app.request(`http://10.0.0.1:5248${path}`, {
    method,
    headers: { host: '10.0.0.1:5248', ...headers },
  });

describe('HTTP boot routes', () => {
  it('leaves the machine API mounted before it alone', async () => {
    expect((await get('/healthz')).status).toBe(200);
  });

  it('serves a whole file', async () => {
    fetches.length = 0;
    const response = await get(`/images/${K}?mac=${MAC}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe('1000');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(KERNEL);
    expect(fetches).toEqual([
      {
        machineId: 'm-1',
        step: 'boot.kernel',
        path: `/images/${K}`,
        protocol: 'http',
        result: 'started',
        bytes: 1000,
      },
      {
        machineId: 'm-1',
        step: 'boot.kernel',
        path: `/images/${K}`,
        protocol: 'http',
        result: 'succeeded',
        bytes: 1000,
      },
    ]);
  });

  const ranges: Record<string, [range: string, status: number, start: number, end: number]> = {
    'first 100': ['bytes=0-99', 206, 0, 99],
    'from 100': ['bytes=100-', 206, 100, 999],
    'last 10': ['bytes=-10', 206, 990, 999],
    'several ranges: whole file': ['bytes=0-1,3-4', 200, 0, 999],
  };
  it.each(Object.entries(ranges))('serves range %s', async (_name, [range, status, start, end]) => {
    const response = await get(`/images/${K}`, { range });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-length')).toBe(String(end - start + 1));
    if (status === 206)
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(KERNEL.subarray(start, end + 1));
  });

  it('answers 416 for a range past the end', async () => {
    const response = await get(`/images/${K}`, { range: 'bytes=1000-' });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe('bytes */1000');
  });

  it('ignores Range when If-Range does not match', async () => {
    const response = await get(`/images/${K}`, { range: 'bytes=0-9', 'if-range': '"stale"' });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });

  it('answers HEAD with headers only and no events', async () => {
    fetches.length = 0;
    const response = await get(`/images/${K}?mac=${MAC}`, {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('1000');
    expect(await response.text()).toBe('');
    expect(fetches).toEqual([]);
  });

  it('renders an iPXE script and reports boot.config', async () => {
    fetches.length = 0;
    const response = await get(`/ipxe/script?mac=${MAC}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const script = await response.text();
    expect(script).toMatch(/^#!ipxe\n/);
    expect(script).toContain(`kernel http://10.0.0.1:5248/images/${K}?mac=${MAC} `);
    expect(fetches).toMatchObject([{ machineId: 'm-1', step: 'boot.config', result: 'succeeded' }]);
  });

  it('serves a loader without a machine and reports nothing', async () => {
    fetches.length = 0;
    const response = await get('/ipxe.efi');
    expect(await response.text()).toBe('efi');
    expect(fetches).toEqual([]);
  });

  it('reports a transfer the client abandons as failed', async () => {
    fetches.length = 0;
    const response = await get(`/images/${K}?mac=${MAC}`);
    await response.body?.cancel();
    expect(fetches.map((f) => f.result)).toEqual(['started', 'failed']);
  });

  it.each([
    ['/images/..%2f..%2fetc%2fpasswd', 403],
    // WHATWG URL parsing in `app.request` resolves encoded dot segments before we see them.
    ['/%2e%2e/%2e%2e/etc/passwd', 404],
    ['/images/%252e%252e/x', 403],
    ['/ipxe.efi%00', 403],
    ['/etc/passwd', 404],
    [`/images/${'f'.repeat(64)}`, 404],
  ])('refuses %s with %i', async (path, status) => {
    const response = await get(path);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});
