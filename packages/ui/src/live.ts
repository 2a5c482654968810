/**
 * The live event stream: one websocket to `/ws` for the whole app (the browser cannot set
 * headers on websockets, so the key goes as `?key=`). When the connection drops it reconnects
 * with `after=<last seq seen>`, so the controller replays what was missed, and tells listeners
 * to `resync` whatever they loaded before. No polling.
 */
import type { IngotEvent } from './types.ts';

/** The connection's state, for the header's indicator. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What listeners hear. */
export type LiveMessage =
  { readonly type: 'event'; readonly event: IngotEvent } | { readonly type: 'resync' };

/** The app's event stream. */
export interface EventStream {
  subscribe(listener: (m: LiveMessage) => void): () => void;
  onState(listener: (s: LiveState) => void): () => void;
  state(): LiveState;
  close(): void;
}

/** Reconnect delays: 0.5 s doubling to 10 s. */
function backoffMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
}

/** Opens the stream for `key` against this page's origin. */
export function openEventStream(key: string): EventStream {
  const listeners = new Set<(m: LiveMessage) => void>();
  const stateListeners = new Set<(s: LiveState) => void>();
  let state: LiveState = 'connecting';
  let lastSeq: number | undefined;
  let socket: WebSocket | undefined;
  let attempt = 0;
  let timer: number | undefined;
  let closed = false;

  const setState = (s: LiveState): void => {
    state = s;
    for (const l of stateListeners) l(s);
  };
  const emit = (m: LiveMessage): void => {
    for (const l of listeners) l(m);
  };

  const connect = (): void => {
    const url = new URL('/ws', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('key', key);
    if (lastSeq !== undefined) url.searchParams.set('after', String(lastSeq));
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      // After a drop, what listeners loaded may be stale beyond what the replay covers.
      if (attempt > 0) emit({ type: 'resync' });
      attempt = 0;
      setState('live');
    };
    ws.onmessage = (m: MessageEvent) => {
      if (typeof m.data !== 'string') return;
      const event = JSON.parse(m.data) as IngotEvent;
      if (lastSeq !== undefined && event.seq <= lastSeq) return;
      lastSeq = event.seq;
      emit({ type: 'event', event });
    };
    ws.onclose = () => {
      if (closed) return;
      setState('reconnecting');
      timer = window.setTimeout(connect, backoffMs(attempt++));
    };
  };
  connect();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    state: () => state,
    close() {
      closed = true;
      window.clearTimeout(timer);
      socket?.close();
      setState('closed');
    },
  };
}
