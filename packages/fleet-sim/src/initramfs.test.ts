/**
 * The simulated initramfs's retries against a loopback server: the squashfs fetched whole again
 * after a reset and after a body with the wrong sha256, 7 attempts and no more when the server
 * never serves it, and the FAIL report resent with one report id until it is taken.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from './http-client.ts';
import {
  fetchSquashfs,
  INITRAMFS_RETRY,
  postInitramfsFail,
  type FailedAttempt,
} from './initramfs.ts';

const TOKEN = 'Ck4Tn6JvBwUo3zS3vCk9pQ2a:Tk0Zv1tWqJ8dLbPm2nXsRy7e:Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd';
const SQUASHFS = Buffer.alloc(64 * 1024, 0).map((_, i) => i % 253);
const SHA = createHash('sha256').update(SQUASHFS).digest('hex');
/** ms-scale `ingot_retry`: the same 7 attempts, waits 1, 2, 4, 8, 8, 8 ms. */
const FAST: RetryPolicy = {
  backoff: 'doubling',
  retries: INITRAMFS_RETRY.retries,
  firstDelayMs: 1,
  maxDelayMs: 8,
};

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s !== undefined) await new Promise((resolve) => s.close(resolve));
});

/** Starts `handle` on 127.0.0.1; returns its base URL. */
async function serve(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

describe('the initramfs squashfs fetch', () => {
  it('starts the file anew after a failed attempt: success on the 3rd, 1 s then 2 s apart', async () => {
    const times: number[] = [];
    const base = await serve((req, res) => {
      times.push(performance.now());
      if (times.length === 1) req.socket.destroy();
      // The 2nd attempt gets a whole 200 body, but not the image the URL names.
      else if (times.length === 2) res.writeHead(200).end(Buffer.from('not the image'));
      else res.writeHead(200).end(SQUASHFS);
    });
    const failed: FailedAttempt[] = [];
    const got = await fetchSquashfs({
      url: `${base}/images/${SHA}`,
      localAddress: '127.0.0.1',
      signal: new AbortController().signal,
      onFail: (f) => failed.push(f),
    });
    expect(got.ok && got.value.bytes).toBe(SQUASHFS.length);
    expect(failed.map((f) => [f.attempt, f.of])).toEqual([
      [1, 7],
      [2, 7],
    ]);
    expect(failed[1]?.reason).toMatch(/^sha256 [0-9a-f]{64} is not /);
    const [a = 0, b = 0, c = 0] = times;
    expect(b - a).toBeGreaterThanOrEqual(950);
    expect(c - b).toBeGreaterThanOrEqual(1950);
  }, 10_000);

  it('gives up after exactly 7 attempts when the squashfs is never served', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests++;
      res.writeHead(503).end();
    });
    const failed: FailedAttempt[] = [];
    const got = await fetchSquashfs({
      url: `${base}/images/${SHA}`,
      localAddress: '127.0.0.1',
      retry: FAST,
      signal: new AbortController().signal,
      onFail: (f) => failed.push(f),
    });
    expect(got).toEqual({ ok: false, reason: 'HTTP 503' });
    expect(requests).toBe(7);
    expect(failed.map((f) => f.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops at once, mid-wait, when the machine powers off', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests++;
      res.writeHead(503).end();
    });
    const abort = new AbortController();
    const started = performance.now();
    const pending = fetchSquashfs({
      url: `${base}/images/${SHA}`,
      localAddress: '127.0.0.1',
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 100);
    await expect(pending).rejects.toThrow(/aborted/);
    expect(performance.now() - started).toBeLessThan(900);
    expect(requests).toBe(1);
  });

  it('waits 1, 2, 4, 8, 8, 8 s between its attempts (fetch.sh ingot_retry)', () => {
    expect(INITRAMFS_RETRY).toEqual({
      backoff: 'doubling',
      retries: 6,
      firstDelayMs: 1000,
      maxDelayMs: 8000,
    });
  });
});

describe('the initramfs FAIL report', () => {
  const report = (metadata: string): Parameters<typeof postInitramfsFail>[0] => ({
    metadata,
    token: TOKEN,
    machineId: 'm1',
    localAddress: '127.0.0.1',
    step: 'boot.squashfs',
    message: 'fetching the root squashfs failed 7 times',
  });

  it('is resent with the same report id until the metadata service takes it', async () => {
    const posts: { path: string; auth: string; body: Record<string, unknown> }[] = [];
    const base = await serve((req, res, body) => {
      posts.push({
        path: req.url ?? '',
        auth: req.headers.authorization ?? '',
        body: JSON.parse(body) as Record<string, unknown>,
      });
      // The first copies "die" after the body arrived, as an agent killed mid-proxy.
      if (posts.length <= 3) res.destroy();
      else res.writeHead(204).end();
    });
    const failed: FailedAttempt[] = [];
    const posted = await postInitramfsFail(report(`${base}/MAAS/metadata`), {
      retry: FAST,
      signal: new AbortController().signal,
      onFail: (f) => failed.push(f),
    });
    expect(posted).toBe(true);
    expect(posts).toHaveLength(4);
    expect(failed.map((f) => f.attempt)).toEqual([1, 2, 3]);
    const [first] = posts;
    expect(first?.path).toBe('/MAAS/metadata/status/m1');
    expect(first?.body).toMatchObject({
      event_type: 'finish',
      origin: 'ingot-initramfs',
      name: 'boot.squashfs',
      result: 'FAIL',
      description: 'fetching the root squashfs failed 7 times',
    });
    expect(typeof first?.body['id']).toBe('string');
    expect(new Set(posts.map((p) => p.body['id'])).size).toBe(1);
    // A fresh OAuth nonce on every attempt, as post_fail_once signs each wget anew.
    expect(new Set(posts.map((p) => p.auth)).size).toBe(4);
  });

  it('gives up after 7 attempts when nothing takes it', async () => {
    let posts = 0;
    const base = await serve((_req, res) => {
      posts++;
      res.writeHead(502).end();
    });
    const posted = await postInitramfsFail(report(`${base}/MAAS/metadata/`), {
      retry: FAST,
      signal: new AbortController().signal,
    });
    expect(posted).toBe(false);
    expect(posts).toBe(7);
  });
});
