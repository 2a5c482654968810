/**
 * The event feed: the controller's `EventBus` when several controllers share one database (and
 * on SQLite too, where it is the only one). Events reach local subscribers (`/ws`, metrics) by
 * one path only: this feed reads the log by `seq` past its cursor and hands each event to every
 * subscriber once, in `seq` order, whichever controller wrote it.
 *
 * `publish` (called by services after their commit) does not deliver: it signals the cluster
 * that the log grew, which wakes this feed and every other controller's. Reading by seq is
 * correct because event appends are ordered (`lockEventLog`: a seq is visible only after every
 * smaller one has committed), so "after my cursor" misses nothing. A lost signal only delays
 * delivery: the feed also reads on `resync` (the signal channel came back) and every
 * `pollIntervalMs`. Memory is bounded: one page of `pageSize` events at a time.
 */
import type { Logger } from '@ingot/common';
import type { EventBus, Store } from '../app/ports.ts';
import type { EventRecord } from '../domain/event.ts';
import type { ClusterSignals } from './signals.ts';

/** What the feed reads. */
export type EventLog = Pick<Store, 'listEvents'> & {
  readonly cluster: Pick<Store['cluster'], 'lastEventSeq'>;
};

/** Options of {@link startEventFeed}. */
export interface EventFeedOptions {
  readonly log: EventLog;
  readonly signals: ClusterSignals;
  readonly logger: Logger;
  /** Read the log at least this often even without a signal (default 2 s). */
  readonly pollIntervalMs?: number;
  /** Events per read (default 500). */
  readonly pageSize?: number;
}

/** A running feed. */
export interface EventFeed extends EventBus {
  /** The seq of the last event delivered (or skipped as older than the feed). */
  cursor(): number;
  /** Resolves once the feed has delivered up to at least `seq`. Only waits: reads nothing. */
  caughtUp(seq: number): Promise<void>;
  close(): void;
}

/**
 * Starts a feed whose cursor is the log's current end: subscribers see events written from now
 * on (`/ws` replays older ones from the store itself).
 */
export async function startEventFeed(options: EventFeedOptions): Promise<EventFeed> {
  const { log, signals, logger } = options;
  const pageSize = options.pageSize ?? 500;
  const listeners = new Set<(event: EventRecord) => void>();
  const waiters: { seq: number; resolve: () => void }[] = [];
  let cursor = await log.cluster.lastEventSeq();
  let dirty = false;
  let reading = false;
  let closed = false;

  const settleWaiters = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w !== undefined && w.seq <= cursor) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const deliver = (event: EventRecord): void => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (e) {
        logger.error('event listener failed', { error: e });
      }
    }
  };

  const read = async (): Promise<void> => {
    reading = true;
    try {
      while (dirty && !closed) {
        dirty = false;
        for (;;) {
          const page = await log.listEvents({ afterSeq: cursor, limit: pageSize });
          for (const event of page) {
            cursor = event.seq;
            deliver(event);
          }
          settleWaiters();
          if (page.length < pageSize) break;
        }
      }
    } catch (e) {
      // The store is unreachable for now: try again on the next wake-up or poll.
      logger.warn('event feed read failed; will retry', { error: e, cursor });
    } finally {
      reading = false;
    }
  };

  const wake = (): void => {
    dirty = true;
    if (!reading && !closed) void read();
  };

  const unsubscribe = signals.subscribe((message) => {
    if (message.kind === 'resync' || (message.kind === 'events' && message.seq > cursor)) wake();
  });
  const poll = setInterval(wake, options.pollIntervalMs ?? 2_000);
  poll.unref();

  return {
    publish(events) {
      const last = events.reduce((max, e) => Math.max(max, e.seq), 0);
      if (last > 0) signals.publish({ kind: 'events', seq: last });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    cursor: () => cursor,
    caughtUp(seq) {
      if (seq <= cursor) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ seq, resolve }));
    },
    close() {
      closed = true;
      clearInterval(poll);
      unsubscribe();
      listeners.clear();
      for (const w of waiters.splice(0)) w.resolve();
    },
  };
}
