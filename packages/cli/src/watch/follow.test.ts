import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ApiError } from '../client.ts';
import { followEvents } from './follow.ts';

/**
 * A stand-in `/ws` on 127.0.0.1 that serves events 1..10 after the `after` asked for, and
 * drops the first connection after three events — as a controller restart or a proxy would.
 */
function startStream(options: {
  dropAfter: number;
  dropAlways?: boolean;
  status?: number;
}): Promise<{
  server: Server;
  url: string;
  connections: string[];
}> {
  const connections: string[] = [];
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    connections.push(req.url ?? '');
    if (options.status !== undefined) {
      socket.end(`HTTP/1.1 ${options.status} Unauthorized\r\nConnection: close\r\n\r\n`);
      return;
    }
    const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after'));
    wss.handleUpgrade(req, socket, head, (ws) => {
      let sent = 0;
      for (let seq = after + 1; seq <= 10; seq++) {
        if (
          (connections.length === 1 || options.dropAlways === true) &&
          sent === options.dropAfter
        ) {
          ws.terminate();
          return;
        }
        ws.send(JSON.stringify({ seq, kind: 'step', step: `s${seq}`, result: 'info', data: {} }));
        sent++;
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, connections });
    });
  });
}

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server?.closeAllConnections();
});

describe('followEvents', () => {
  it('reconnects from the last event seen: every event once, in order', async () => {
    const s = await startStream({ dropAfter: 3 });
    server = s.server;
    const seen: number[] = [];
    const notices: string[] = [];
    const end = await followEvents({
      client: { url: s.url, key: 'k' },
      machineId: 'm-1',
      after: 0,
      signal: AbortSignal.timeout(20_000),
      onEvent: (e) => {
        seen.push(e.seq);
        return e.seq === 10;
      },
      onNotice: (n) => notices.push(n),
    });
    expect(end).toBe('stopped');
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(s.connections).toEqual(['/ws?after=0&machine=m-1', '/ws?after=3&machine=m-1']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/reconnecting in 0\.5 s from event 3/);
  });

  it('a refused stream (401) is an API error with a hint, not retried', async () => {
    const s = await startStream({ dropAfter: 99, status: 401 });
    server = s.server;
    const follow = followEvents({
      client: { url: s.url, key: undefined },
      after: 0,
      signal: AbortSignal.timeout(20_000),
      onEvent: () => false,
      onNotice: () => undefined,
    });
    await expect(follow).rejects.toBeInstanceOf(ApiError);
    await expect(follow).rejects.toMatchObject({ status: 401, hint: /INGOT_API_KEY/ });
    expect(s.connections).toHaveLength(1);
  });

  it('gives up on a stream that is accepted and dropped at once, again and again', async () => {
    const s = await startStream({ dropAfter: 0, dropAlways: true });
    server = s.server;
    await expect(
      followEvents({
        client: { url: s.url, key: 'k' },
        after: 0,
        signal: AbortSignal.timeout(20_000),
        onEvent: () => false,
        onNotice: () => undefined,
        maxAttempts: 3,
      }),
    ).rejects.toThrow(/failed 3 times in a row/);
    expect(s.connections).toHaveLength(3);
  });

  it('gives up after maxAttempts when nothing listens', async () => {
    const s = await startStream({ dropAfter: 0 });
    const url = s.url;
    s.server.close();
    const notices: string[] = [];
    await expect(
      followEvents({
        client: { url, key: 'k' },
        after: 5,
        signal: AbortSignal.timeout(20_000),
        onEvent: () => false,
        onNotice: (n) => notices.push(n),
        maxAttempts: 2,
      }),
    ).rejects.toThrow(/failed 2 times in a row/);
    expect(notices[0]).toMatch(/cannot reach the controller at .*ECONNREFUSED/);
  });
});
