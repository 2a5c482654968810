/**
 * `/ws`: events live over a websocket (DESIGN.md §9). Query: `machine=<id>` to follow one machine,
 * `after=<seq>` to replay stored events first (so a client that reconnects misses nothing).
 * Authentication: `Authorization: Bearer <key>`, or `?key=` for browsers, which cannot set headers
 * on websockets. Each message is one event as JSON, the same shape as `GET /api/v1/events`.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@ingot/common';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventBus, Store } from '../app/ports.ts';
import type { MachineService } from '../app/machine-service.ts';
import type { UserService } from '../app/user-service.ts';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import { authenticateApiKey } from '../app/auth-limiter-credentials.ts';
import type { EventRecord } from '../domain/event.ts';
import { eventDto } from '../api/dto.ts';

/** Dependencies of the event stream. */
export interface EventStreamDeps {
  readonly bus: EventBus;
  readonly store: Pick<Store, 'listEvents'>;
  readonly users: UserService;
  /** Brute-force limits on `?key=` / Bearer (`app/auth-limiter.ts`). */
  readonly authLimiter: AuthLimiter;
  readonly machines: MachineService;
  readonly logger: Logger;
}

function reject(
  socket: Duplex,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\n${extra}Connection: close\r\n\r\n${text}\n`,
  );
}

/** Serves `/ws` on `server`. Returns a function that closes every socket. */
export function attachEventStream(server: Server, deps: EventStreamDeps): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') {
      reject(socket, 404, 'Not Found');
      return;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const key = bearer ?? url.searchParams.get('key') ?? '';
    const machineId = url.searchParams.get('machine') ?? undefined;
    const afterText = url.searchParams.get('after');
    const after = afterText === null ? undefined : Number(afterText);
    if (after !== undefined && (!Number.isInteger(after) || after < 0)) {
      reject(socket, 400, 'Bad Request');
      return;
    }
    void (async () => {
      const auth = await authenticateApiKey(deps, key, request.socket.remoteAddress ?? 'unknown');
      if (!auth.ok && auth.error.kind === 'rate-limited') {
        const wait = auth.error.retryAfterSeconds;
        return reject(socket, 429, 'Too Many Requests', { 'Retry-After': String(wait) });
      }
      if (!auth.ok) return reject(socket, 401, 'Unauthorized');
      const actor = { kind: 'user' as const, user: auth.value };
      if (machineId !== undefined && !(await deps.machines.get(actor, machineId)).ok) {
        return reject(socket, 404, 'Not Found');
      }
      const maySee = async (e: EventRecord): Promise<boolean> => {
        if (machineId !== undefined) return e.machineId === machineId;
        if (actor.user.role === 'admin') return true;
        return e.machineId !== null && (await deps.machines.get(actor, e.machineId)).ok;
      };
      wss.handleUpgrade(request, socket, head, (ws) => {
        serve(ws, { after, machineId }, maySee, deps).catch((e: unknown) => {
          deps.logger.warn('websocket stream failed', { error: e });
          ws.close(1011, 'internal error');
        });
      });
    })().catch((e: unknown) => {
      deps.logger.error('websocket upgrade failed', { error: e });
      reject(socket, 500, 'Internal Server Error');
    });
  });

  return () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  };
}

/**
 * Live events a client may fall behind by (queued here, or waiting for its socket) before it is
 * disconnected: memory stays bounded with a slow or stalled client, which resumes with `after=`.
 */
export const MAX_EVENTS_BEHIND = 10_000;
/** Bytes the socket may hold unsent before the client counts as too slow. */
export const MAX_UNSENT_BYTES = 8 << 20;

/**
 * Subscribes first and buffers, then replays stored events, then drains the buffer skipping what
 * the replay already sent: no gap and no duplicate between history and live. A client more than
 * {@link MAX_EVENTS_BEHIND} events or {@link MAX_UNSENT_BYTES} behind is closed with 1013 and the
 * seq to resume after.
 */
async function serve(
  ws: WebSocket,
  from: { after: number | undefined; machineId: string | undefined },
  maySee: (e: EventRecord) => Promise<boolean>,
  deps: EventStreamDeps,
): Promise<void> {
  const { after, machineId } = from;
  let lastSeq = after ?? -1;
  let replaying = after !== undefined;
  const buffered: EventRecord[] = [];
  let chain = Promise.resolve();
  const sendOne = async (e: EventRecord): Promise<void> => {
    if (e.seq <= lastSeq || ws.readyState !== ws.OPEN) return;
    if (!(await maySee(e))) return;
    lastSeq = e.seq;
    ws.send(JSON.stringify(eventDto(e)));
  };
  let behind = 0;
  let dropped = false;
  const drop = (code: number, reason: string): void => {
    if (dropped) return;
    dropped = true;
    unsubscribe();
    buffered.length = 0;
    ws.close(code, reason);
  };
  const queue = (e: EventRecord): void => {
    behind++;
    chain = chain
      .then(() => sendOne(e))
      .catch((error: unknown) => {
        deps.logger.warn('websocket stream failed', { error });
        drop(1011, 'internal error');
      })
      .finally(() => {
        behind--;
      });
  };
  const unsubscribe = deps.bus.subscribe((e) => {
    if (behind + buffered.length >= MAX_EVENTS_BEHIND || ws.bufferedAmount > MAX_UNSENT_BYTES) {
      drop(1013, `too slow; reconnect with after=${String(Math.max(lastSeq, 0))}`);
    } else if (replaying) buffered.push(e);
    else queue(e);
  });
  ws.on('close', unsubscribe);
  ws.on('error', unsubscribe);
  if (after !== undefined) {
    let cursor = after;
    for (;;) {
      const page = await deps.store.listEvents({ machineId, afterSeq: cursor, limit: 1000 });
      for (const e of page) {
        cursor = e.seq;
        await sendOne(e);
      }
      if (page.length < 1000) break;
    }
    replaying = false;
    for (const e of buffered.splice(0)) queue(e);
  }
}
