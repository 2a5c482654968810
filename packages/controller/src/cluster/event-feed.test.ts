import pg from 'pg';
import { silentLogger } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import type { EventBus, Store } from '../app/ports.ts';
import type { EventRecord } from '../domain/event.ts';
import { newEvent, openSqliteStore } from '../testing/index.ts';
import { postgresTestsEnabled, usePostgresServer } from '../testing/use-postgres-server.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { startEventFeed, type EventFeed } from './event-feed.ts';
import { startPostgresSignals, type PostgresSignals } from './pg-signals.ts';
import { createSignalHub } from './signals.ts';

const T0 = Date.UTC(2026, 0, 1);

/** Every event one subscriber saw, in arrival order. */
function record(bus: EventBus): EventRecord[] {
  const seen: EventRecord[] = [];
  bus.subscribe((e) => seen.push(e));
  return seen;
}

/** Appends one event and publishes it after the commit, as the services do. */
async function write(store: Store, feed: EventBus, id: string): Promise<number> {
  const stored = await store.appendEvents([newEvent({ id })], T0);
  feed.publish(stored);
  return stored[0]?.seq ?? 0;
}

function expectAllOnceInOrder(seen: readonly EventRecord[], ids: readonly string[]): void {
  expect(seen).toHaveLength(ids.length);
  expect(new Set(seen.map((e) => e.id))).toEqual(new Set(ids));
  for (let i = 1; i < seen.length; i++) {
    expect(seen[i]?.seq).toBeGreaterThan(seen[i - 1]?.seq ?? Infinity);
  }
}

async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${String(ms)} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('event feed, one process (SQLite, in-process signals)', () => {
  it('delivers each event once in seq order, and none from before it started', async () => {
    const store = await openSqliteStore(':memory:');
    await store.appendEvents([newEvent({ id: 'old' })], T0);
    const signals = createSignalHub().join();
    const feed = await startEventFeed({ log: store, signals, logger: silentLogger });
    try {
      const seen = record(feed);
      const ids = Array.from({ length: 200 }, (_, i) => `e${String(i)}`);
      const seqs = await Promise.all(ids.map((id) => write(store, feed, id)));
      await within('catch up', 10_000, feed.caughtUp(Math.max(...seqs)));
      expectAllOnceInOrder(seen, ids);
    } finally {
      feed.close();
      await signals.close();
      await store.close();
    }
  });
});

describe.skipIf(!postgresTestsEnabled())('event feed, two controllers on PostgreSQL', () => {
  const server = usePostgresServer();

  it('500 events written through A and B at once reach every subscriber of both once, in seq order, across a killed LISTEN connection', async () => {
    const url = await server.server().createDatabase();
    const [storeA, storeB] = await Promise.all([
      openPostgresStore(url, { maxConnections: 6 }),
      openPostgresStore(url, { maxConnections: 6 }),
    ]);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const signals: PostgresSignals[] = [];
    const feeds: EventFeed[] = [];
    try {
      // A reconnects slowly, so the second half is written while it is not listening.
      signals.push(
        await startPostgresSignals({
          url,
          instanceId: 'a',
          logger: silentLogger,
          minBackoffMs: 1_500,
        }),
        await startPostgresSignals({ url, instanceId: 'b', logger: silentLogger }),
      );
      const [sigA, sigB] = signals;
      if (sigA === undefined || sigB === undefined) throw new Error('no signals');
      // No polling: only signals (and the resync after a reconnect) drive delivery.
      const poll = { pollIntervalMs: 600_000 };
      feeds.push(
        await startEventFeed({ log: storeA, signals: sigA, logger: silentLogger, ...poll }),
        await startEventFeed({ log: storeB, signals: sigB, logger: silentLogger, ...poll }),
      );
      const [feedA, feedB] = feeds;
      if (feedA === undefined || feedB === undefined) throw new Error('no feeds');
      const subscribers = [record(feedA), record(feedA), record(feedB), record(feedB)];

      const ids = Array.from({ length: 500 }, (_, i) => `e${String(i).padStart(3, '0')}`);
      const firstHalf = await Promise.all(
        ids
          .slice(0, 250)
          .map((id, i) => write(i % 2 === 0 ? storeA : storeB, i % 2 === 0 ? feedA : feedB, id)),
      );
      // Kill A's LISTEN connection; the rest is written through B while A is not listening.
      const pid = sigA.listenerPid();
      expect(pid).toBeDefined();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await within(
        'A notices the dropped connection',
        10_000,
        (async () => {
          while (sigA.listenerPid() !== undefined) await new Promise((r) => setTimeout(r, 10));
        })(),
      );
      const secondHalf = await Promise.all(ids.slice(250).map((id) => write(storeB, feedB, id)));
      const last = Math.max(...firstHalf, ...secondHalf);
      await within('B catches up', 20_000, feedB.caughtUp(last));
      await within('A catches up after reconnecting', 20_000, feedA.caughtUp(last));
      expect(sigA.listenerPid()).toBeDefined();
      expect(sigA.listenerPid()).not.toBe(pid);
      for (const seen of subscribers) expectAllOnceInOrder(seen, ids);
    } finally {
      for (const f of feeds) f.close();
      await Promise.all(signals.map((s) => s.close()));
      await admin.end();
      await Promise.all([storeA.close(), storeB.close()]);
    }
  }, 120_000);
});
