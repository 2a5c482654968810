/**
 * `fetchRetrying` against a loopback server that refuses its first requests: with curl's own
 * backoff (no `--retry-delay`) the attempts are 1 s, then 2 s apart, and once the retries are
 * spent it rejects. Timings are asserted as lower bounds and order only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchRetrying, retryDelayMs, type RetryPolicy } from './http-client.ts';
import { REAL_INSTALLER_RETRIES } from './installer.ts';

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s !== undefined) await new Promise((resolve) => s.close(resolve));
});

/** A server on 127.0.0.1 that refuses (`refuse(n)` true) request n (1-based); times in ms. */
async function refusing(refuse: (n: number) => 'reset' | 503 | undefined): Promise<{
  url: string;
  times: number[];
}> {
  const times: number[] = [];
  server = createServer((req, res) => {
    times.push(performance.now());
    const how = refuse(times.length);
    if (how === 'reset') req.socket.destroy();
    else if (how === 503) res.writeHead(503).end();
    else res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/MAAS/metadata/latest/install-config`, times };
}

const waits = (policy: RetryPolicy, retries: number): number[] =>
  Array.from({ length: retries }, (_, i) => retryDelayMs(policy, i + 1));

describe('fetchRetrying with doubling backoff', () => {
  it('waits 1 s, then 2 s between attempts, and resolves with the first 2xx', async () => {
    const { url, times } = await refusing((n) => (n === 1 ? 'reset' : n === 2 ? 503 : undefined));
    const retried: string[] = [];
    const got = await fetchRetrying({
      url,
      localAddress: '127.0.0.1',
      retry: { backoff: 'doubling', retries: 5, firstDelayMs: 1000, maxDelayMs: 600_000 },
      signal: new AbortController().signal,
      onRetry: (why) => retried.push(why),
    });
    expect(got.status).toBe(200);
    expect(times).toHaveLength(3);
    const [a = 0, b = 0, c = 0] = times;
    // setTimeout may fire a hair early by performance.now(); 950/1950 leave room for that only.
    expect(b - a).toBeGreaterThanOrEqual(950);
    expect(c - b).toBeGreaterThanOrEqual(1950);
    expect(c - b).toBeGreaterThan(b - a);
    expect(retried).toEqual([expect.stringMatching(/socket hang up|ECONNRESET/), 'HTTP 503']);
  }, 10_000);

  it('rejects with the last failure once the retries are spent', async () => {
    const { url, times } = await refusing(() => 503);
    await expect(
      fetchRetrying({
        url,
        localAddress: '127.0.0.1',
        retry: { backoff: 'doubling', retries: 3, firstDelayMs: 20, maxDelayMs: 40 },
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(/install-config: HTTP 503/);
    expect(times).toHaveLength(4);
    const [a = 0, b = 0, c = 0, d = 0] = times;
    expect([b - a, c - b, d - c].map((gap) => gap >= 15)).toEqual([true, true, true]);
    expect(d - c).toBeGreaterThanOrEqual(35);
  });

  it('stops waiting at once when the signal aborts', async () => {
    const { url, times } = await refusing(() => 503);
    const abort = new AbortController();
    const started = performance.now();
    const pending = fetchRetrying({
      url,
      localAddress: '127.0.0.1',
      retry: { backoff: 'doubling', retries: 5, firstDelayMs: 1000, maxDelayMs: 600_000 },
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 100);
    await expect(pending).rejects.toThrow(/aborted/);
    expect(performance.now() - started).toBeLessThan(900);
    expect(times).toHaveLength(1);
  });
});

describe('retry policies', () => {
  it('the real installer: curl --retry 5 waits 1, 2, 4, 8, 16 s; post_event --retry 4', () => {
    expect(REAL_INSTALLER_RETRIES.fetch.retries).toBe(5);
    expect(REAL_INSTALLER_RETRIES.event.retries).toBe(4);
    expect(waits(REAL_INSTALLER_RETRIES.fetch, 5)).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(waits(REAL_INSTALLER_RETRIES.event, 4)).toEqual([1000, 2000, 4000, 8000]);
    // With --retry-delay, curl waits the same before every retry.
    expect(waits({ backoff: 'fixed', retries: 3, delayMs: 1000 }, 3)).toEqual([1000, 1000, 1000]);
  });
});
