/**
 * Follows events live over the controller's `/ws` (packages/controller/src/ws/event-stream.ts).
 * Every connection asks for `after=<last seq seen>`, so the controller replays what was missed
 * and nothing is lost or repeated when the stream drops and is reconnected. A ping every 15 s
 * notices a connection that died silently.
 */
import WebSocket from 'ws';
import { ApiError, hintFor, unreachable, type ClientOptions } from '../client.ts';
import { toStreamEvent, type StreamEvent } from './event.ts';

/** What to follow and where the events go. */
export interface FollowOptions {
  readonly client: ClientOptions;
  /** One machine's events, or all the caller may see. */
  readonly machineId?: string | undefined;
  /** Events with a sequence number above this; the stream replays them first. */
  readonly after: number;
  /** Ends the follow (resolves `aborted`). */
  readonly signal: AbortSignal;
  /** Called for each event in order; returning true ends the follow (`stopped`). */
  onEvent(e: StreamEvent, json: unknown): boolean;
  /** A line for people about the stream itself (dropped, reconnecting). */
  onNotice(text: string): void;
  /** Consecutive failed connections before giving up (default 30, about 2.5 min). */
  readonly maxAttempts?: number;
  /** Milliseconds between pings (default 15 s). */
  readonly pingMs?: number;
}

/** Why a follow ended. */
export type FollowEnd = 'stopped' | 'aborted';

/** The `/ws` URL for a follow from `after`. */
export function streamUrl(base: string, machineId: string | undefined, after: number): URL {
  const url = new URL('/ws', base.replace(/^http/, 'ws'));
  url.searchParams.set('after', String(after));
  if (machineId !== undefined) url.searchParams.set('machine', machineId);
  return url;
}

/**
 * Follows until `onEvent` says stop or `signal` aborts. Rejects with an {@link ApiError} when
 * the controller refuses the stream (401, 404 …) or cannot be reached `maxAttempts` times in a row.
 */
export function followEvents(options: FollowOptions): Promise<FollowEnd> {
  const maxAttempts = options.maxAttempts ?? 30;
  const pingMs = options.pingMs ?? 15_000;
  let lastSeq = options.after;
  let failures = 0;
  return new Promise<FollowEnd>((resolve, reject) => {
    let ws: WebSocket | undefined;
    let retry: NodeJS.Timeout | undefined;
    let ping: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (end: FollowEnd | ApiError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(retry);
      clearInterval(ping);
      options.signal.removeEventListener('abort', onAbort);
      ws?.removeAllListeners();
      ws?.on('error', () => undefined);
      ws?.terminate();
      if (end instanceof ApiError) reject(end);
      else resolve(end);
    };
    const onAbort = (): void => finish('aborted');
    options.signal.addEventListener('abort', onAbort);

    const dropped = (why: string): void => {
      if (settled) return;
      clearInterval(ping);
      ws?.removeAllListeners();
      ws?.on('error', () => undefined);
      ws?.terminate();
      failures++;
      if (failures >= maxAttempts) {
        finish(
          new ApiError(
            0,
            `the event stream from ${options.client.url} failed ${failures} times in a row (${why})`,
            'is the controller running? The action itself goes on: check it with `ingot machines show`',
          ),
        );
        return;
      }
      const delay = Math.min(500 * 2 ** (failures - 1), 5000);
      options.onNotice(
        `event stream dropped (${why}); reconnecting in ${(delay / 1000).toFixed(1)} s from event ${lastSeq}`,
      );
      retry = setTimeout(connect, delay);
    };

    const connect = (): void => {
      if (settled) return;
      const url = streamUrl(options.client.url, options.machineId, lastSeq);
      const key = options.client.key;
      const socket = new WebSocket(url, {
        headers: key === undefined || key === '' ? {} : { authorization: `Bearer ${key}` },
        handshakeTimeout: 15_000,
      });
      ws = socket;
      let alive = true;
      socket.on('open', () => {
        // `failures` is reset by a message or a pong, not by `open`: a stream that is accepted
        // and dropped at once, again and again, still ends after `maxAttempts`.
        ping = setInterval(() => {
          if (!alive) return dropped('no answer to ping');
          alive = false;
          socket.ping();
        }, pingMs);
      });
      socket.on('pong', () => {
        alive = true;
        failures = 0;
      });
      socket.on('message', (raw: Buffer) => {
        alive = true;
        failures = 0;
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          return;
        }
        const e = toStreamEvent(json);
        if (e === undefined || e.seq <= lastSeq) return;
        lastSeq = e.seq;
        if (options.onEvent(e, json)) finish('stopped');
      });
      socket.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        if (status >= 500) return dropped(`HTTP ${status}`);
        const path =
          options.machineId === undefined ? '/ws' : `/api/v1/machines/${options.machineId}`;
        finish(
          new ApiError(
            status,
            `${status} ${res.statusMessage ?? ''}: the controller refused the event stream`,
            hintFor(status, undefined, options.client, path),
          ),
        );
      });
      socket.on('error', (e) => dropped(unreachable(options.client.url, e).message));
      socket.on('close', (code) => dropped(`closed, code ${code}`));
    };
    connect();
  });
}
