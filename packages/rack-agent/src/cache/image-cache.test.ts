import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, silentLogger } from '@ingot/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImageCache, type ImageCacheDeps } from './image-cache.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Served {
  /** The bytes served for each sha256 (may be wrong on purpose). */
  files: Map<string, Uint8Array>;
  /** Each request's Range header (or null) and the bytes the server wrote for it. */
  requests: { path: string; range: string | null; auth: string | null; sentBytes: number }[];
  /** Drop the connection after this many body bytes, on the next request only. */
  dropAfter?: number | undefined;
  /** Delay before each response, so that concurrent callers overlap. */
  delayMs: number;
}

let server: Server;
let served: Served;
let url: string;
let dir: string;
let imageDir: string;
let clock: FakeClock;

beforeEach(async () => {
  served = { files: new Map(), requests: [], delayMs: 0 };
  dir = mkdtempSync(join(tmpdir(), 'ingot-cache-'));
  imageDir = join(dir, 'images');
  mkdirSync(imageDir);
  clock = new FakeClock(1_000_000);
  server = createServer((req, res) => {
    const record = {
      path: req.url ?? '',
      range: req.headers.range ?? null,
      auth: req.headers.authorization ?? null,
      sentBytes: 0,
    };
    served.requests.push(record);
    const hash = /^\/api\/v1\/images\/files\/([0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
    const body = hash === undefined ? undefined : served.files.get(hash);
    setTimeout(() => {
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      let start = 0;
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m?.[1] !== undefined) {
        start = Number(m[1]);
        if (start >= body.length) {
          res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
          return;
        }
        res.writeHead(206, {
          'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
          'content-length': body.length - start,
        });
      } else {
        res.writeHead(200, { 'content-length': body.length });
      }
      const rest = body.subarray(start);
      const drop = served.dropAfter;
      if (drop !== undefined) {
        served.dropAfter = undefined;
        record.sentBytes = drop;
        res.write(rest.subarray(0, drop), () => res.socket?.destroy());
        return;
      }
      record.sentBytes = rest.length;
      res.end(rest);
    }, served.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function cache(extra: Partial<ImageCacheDeps> = {}) {
  return createImageCache({
    imageDir,
    capacityBytes: 1 << 30,
    controllerHttpUrl: url,
    authorization: 'Rack r1:secret',
    pinned: () => new Map(),
    clock,
    logger: silentLogger,
    backoff: { initialMs: 1, maxMs: 2 },
    sleep: () => Promise.resolve(),
    ...extra,
  });
}

function serve(size: number): { bytes: Uint8Array; hash: string } {
  const bytes = new Uint8Array(randomBytes(size));
  const hash = sha(bytes);
  served.files.set(hash, bytes);
  return { bytes, hash };
}

describe('image cache', () => {
  it('resumes an interrupted download from the byte where it stopped', async () => {
    const { bytes, hash } = serve(1_000_000);
    served.dropAfter = 400_000;
    const images = cache();
    const got = await images.ensure(hash, bytes.length);
    expect(got).toEqual({ ok: true, value: join(imageDir, hash) });
    // The second request resumes where the partial file ends. That is the 400,000 bytes sent,
    // less whatever fetch still held unread when the connection dropped (a stream that errors
    // discards its queue), so it is at most 400,000 and never 0.
    const [first, second] = served.requests;
    expect(first?.range).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(second?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(400_000);
    expect(served.requests).toHaveLength(2);
    expect(served.requests.every((r) => r.auth === 'Rack r1:secret')).toBe(true);
    expect(second?.sentBytes).toBe(bytes.length - resumedAt);
    expect(readFileSync(join(imageDir, hash)).equals(bytes)).toBe(true);
    expect(existsSync(join(imageDir, '.partial', hash))).toBe(false);
    expect(images.inventory().files).toEqual([
      { sha256: hash, sizeBytes: bytes.length, lastUsedMs: clock.now() },
    ]);
  });

  it('resumes a partial file left by an earlier run', async () => {
    const { bytes, hash } = serve(300_000);
    mkdirSync(join(imageDir, '.partial'));
    writeFileSync(join(imageDir, '.partial', hash), bytes.subarray(0, 123_456));
    const got = await cache().ensure(hash, bytes.length);
    expect(got.ok).toBe(true);
    expect(served.requests.map((r) => r.range)).toEqual(['bytes=123456-']);
    expect(readFileSync(join(imageDir, hash)).equals(bytes)).toBe(true);
  });

  it('finds a corrupted cached file at start, removes it, and fetches it again', async () => {
    const { bytes, hash } = serve(50_000);
    const good = serve(1000);
    const corrupted = Buffer.from(bytes);
    corrupted[100] = (corrupted[100] ?? 0) ^ 0xff;
    writeFileSync(join(imageDir, hash), corrupted);
    writeFileSync(join(imageDir, good.hash), good.bytes);
    const images = cache();
    expect(await images.start()).toEqual([hash]);
    expect(existsSync(join(imageDir, hash))).toBe(false);
    expect(await images.lookup(hash)).toBeUndefined();
    expect(await images.lookup(good.hash)).toBe(join(imageDir, good.hash));
    expect(served.requests).toEqual([]);
    expect((await images.ensure(hash, bytes.length)).ok).toBe(true);
    expect(served.requests).toHaveLength(1);
    expect(readFileSync(join(imageDir, hash)).equals(bytes)).toBe(true);
  });

  it('discards a download whose checksum is wrong and never serves it', async () => {
    const bytes = new Uint8Array(randomBytes(20_000));
    const claimed = sha(new Uint8Array(randomBytes(20_000)));
    served.files.set(claimed, bytes);
    const images = cache({ maxAttempts: 2 });
    const got = await images.ensure(claimed, bytes.length);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.error.message).toMatch(/failed sha256 verification/);
    expect(served.requests).toHaveLength(2);
    expect(await images.lookup(claimed)).toBeUndefined();
    expect(existsSync(join(imageDir, claimed))).toBe(false);
    expect(existsSync(join(imageDir, '.partial', claimed))).toBe(false);
    expect(images.inventory().files).toEqual([]);
  });

  it('gives up at once when the controller does not have the file', async () => {
    const got = await cache().ensure('e'.repeat(64), 10);
    expect(got.ok).toBe(false);
    expect(served.requests).toHaveLength(1);
  });

  it('evicts least recently used files to stay within its limit', async () => {
    const [a, b, c] = [serve(100), serve(100), serve(100)];
    const images = cache({ capacityBytes: 250 });
    expect((await images.ensure(a.hash, 100)).ok).toBe(true);
    clock.advance(1000);
    expect((await images.ensure(b.hash, 100)).ok).toBe(true);
    clock.advance(1000);
    // Using a makes b the least recently used.
    expect(await images.lookup(a.hash)).toBeDefined();
    clock.advance(1000);
    expect((await images.ensure(c.hash, 100)).ok).toBe(true);
    const kept = images.inventory().files.map((f) => f.sha256);
    expect(kept.sort()).toEqual([a.hash, c.hash].sort());
    expect(existsSync(join(imageDir, b.hash))).toBe(false);
    expect(images.inventory().files.reduce((n, f) => n + f.sizeBytes, 0)).toBeLessThanOrEqual(250);
  });

  it('never evicts a file a boot plan uses', async () => {
    const [a, b, c] = [serve(100), serve(100), serve(100)];
    const images = cache({ capacityBytes: 250, pinned: () => new Map([[a.hash, 100]]) });
    await images.ensure(a.hash, 100);
    clock.advance(1000);
    await images.ensure(b.hash, 100);
    clock.advance(1000);
    await images.ensure(c.hash, 100);
    const kept = images.inventory().files.map((f) => f.sha256);
    expect(kept.sort()).toEqual([a.hash, c.hash].sort());
  });

  it('shares one download among concurrent callers', async () => {
    const { bytes, hash } = serve(200_000);
    served.delayMs = 50;
    const images = cache();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => images.ensure(hash, bytes.length)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(served.requests).toHaveLength(1);
  });
});
