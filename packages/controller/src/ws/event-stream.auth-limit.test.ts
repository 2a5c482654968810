import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useEventStreamServer } from './event-stream-fixture.ts';

/** Tries `/ws?key=`: the HTTP status of a refused upgrade (with Retry-After), or 101. */
function upgrade(port: number, key: string): Promise<{ status: number; retryAfter?: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${String(port)}/ws?key=${encodeURIComponent(key)}`);
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      const retryAfter = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, ...(retryAfter === undefined ? {} : { retryAfter }) });
      res.resume();
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

describe('/ws key limits', () => {
  const start = useEventStreamServer();

  it('answers 10 wrong keys 401, then 429 with Retry-After; the right key still opens', async () => {
    const { fixture: f, port } = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await upgrade(port, `wrong-${i}`)).status);
    expect(statuses).toEqual(Array<number>(10).fill(401));
    expect(await upgrade(port, 'wrong-10')).toEqual({ status: 429, retryAfter: '60' });
    expect((await upgrade(port, f.admin.apiKey)).status).toBe(101);
  });
});
