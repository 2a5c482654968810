import { silentLogger } from '@ingot/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AuthLimiter } from '../app/auth-limiter.ts';
import { createServiceFixture, type ServiceFixture } from '../testing/index.ts';
import { attachEventStream } from './event-stream.ts';

let fixture: ServiceFixture | undefined;
let server: Server | undefined;
let closeStream: (() => void) | undefined;

afterEach(async () => {
  closeStream?.();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  await fixture?.close();
});

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
  it('answers 10 wrong keys 401, then 429 with Retry-After; the right key still opens', async () => {
    const f = await createServiceFixture();
    fixture = f;
    const s = createServer();
    server = s;
    closeStream = attachEventStream(s, {
      bus: f.bus,
      store: f.store,
      users: f.users,
      machines: f.machines,
      authLimiter: new AuthLimiter({ store: f.store, bus: f.bus, clock: f.clock }),
      logger: silentLogger,
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await upgrade(port, `wrong-${i}`)).status);
    expect(statuses).toEqual(Array<number>(10).fill(401));
    expect(await upgrade(port, 'wrong-10')).toEqual({ status: 429, retryAfter: '60' });
    expect((await upgrade(port, f.admin.apiKey)).status).toBe(101);
  });
});
