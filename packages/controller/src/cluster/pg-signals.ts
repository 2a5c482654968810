/**
 * Cluster signals over PostgreSQL LISTEN/NOTIFY. Each controller LISTENs on one dedicated
 * connection (a pooled one could be handed back and lose the subscription) and NOTIFYs through a
 * pool of one, so a LISTEN connection being re-established never holds up a NOTIFY.
 *
 * - Publishing coalesces: while a NOTIFY is in flight, further signals wait keyed by what they
 *   are about (one per rack and kind, one `events` with the largest seq), so a burst of thousands
 *   of events costs a few NOTIFYs and memory stays bounded by the number of racks.
 * - NOTIFY is delivered only to sessions listening at that moment. When the LISTEN connection
 *   drops, signals are lost; it reconnects with exponential backoff (100 ms doubling to 5 s) and
 *   then delivers `resync`, so subscribers read the store again (the event feed catches up from
 *   its last seq).
 * - A controller's own signals come back through NOTIFY too; they are skipped by origin, having
 *   been delivered locally when published.
 */
import pg from 'pg';
import type { Logger } from '@ingot/common';
import {
  deliver,
  MAX_SIGNAL_MACHINE_IDS,
  mergePowerConfigsSignals,
  type ClusterMessage,
  type ClusterSignal,
  type ClusterSignals,
} from './signals.ts';

/** The NOTIFY channel all Ingot controllers on one database share. */
export const CLUSTER_CHANNEL = 'ingot_cluster';

/** How {@link startPostgresSignals} connects. */
export interface PostgresSignalsOptions {
  readonly url: string;
  /** This controller's instance id: its own signals are recognised by it. */
  readonly instanceId: string;
  readonly logger: Logger;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** Signals over PostgreSQL, and what tests may observe of the LISTEN connection. */
export interface PostgresSignals extends ClusterSignals {
  /** The backend PID of the LISTEN connection, or undefined while it is down. */
  listenerPid(): number | undefined;
}

/** Most signals sent in one statement. */
const BATCH = 100;

/** Reads a NOTIFY payload; undefined for anything that is not a signal from another member. */
export function decodeSignal(
  payload: string | undefined,
): { origin: string; signal: ClusterSignal } | undefined {
  if (payload === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { o, s } = value as { o?: unknown; s?: unknown };
  if (typeof o !== 'string' || typeof s !== 'object' || s === null) return undefined;
  const { kind, seq, rackId, sessionId, machineIds } = s as Record<string, unknown>;
  switch (kind) {
    case 'events':
      return typeof seq === 'number' ? { origin: o, signal: { kind, seq } } : undefined;
    case 'rack-power-configs': {
      if (typeof rackId !== 'string') return undefined;
      if (machineIds === undefined) return { origin: o, signal: { kind, rackId } };
      return isMachineIds(machineIds)
        ? { origin: o, signal: { kind, rackId, machineIds } }
        : undefined;
    }
    case 'rack-commands':
    case 'rack-revoked':
      return typeof rackId === 'string' ? { origin: o, signal: { kind, rackId } } : undefined;
    case 'rack-session-claimed':
      return typeof rackId === 'string' && typeof sessionId === 'string'
        ? { origin: o, signal: { kind, rackId, sessionId } }
        : undefined;
    default:
      return undefined;
  }
}

/** At most {@link MAX_SIGNAL_MACHINE_IDS} non-empty strings of at most 100 characters. */
function isMachineIds(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_SIGNAL_MACHINE_IDS &&
    value.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 100)
  );
}

function signalKey(signal: ClusterSignal): string {
  return signal.kind === 'events' ? 'events' : `${signal.kind}:${signal.rackId}`;
}

/**
 * Connects the LISTEN connection and resolves once it listens (throws if the first attempt
 * fails: the database is unreachable at startup). Later drops are retried with backoff.
 */
export async function startPostgresSignals(
  options: PostgresSignalsOptions,
): Promise<PostgresSignals> {
  const { url, instanceId, logger } = options;
  const minBackoffMs = options.minBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const listeners = new Set<(message: ClusterMessage) => void>();
  const onListenerError = (e: unknown): void =>
    logger.error('cluster signal listener failed', { error: e });
  const notifier = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
  notifier.on('error', () => undefined);
  const pending = new Map<string, ClusterSignal>();
  let sending = false;
  let closed = false;
  let listener: { client: pg.Client; pid: number } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const onNotification = (message: pg.Notification): void => {
    const decoded = decodeSignal(message.payload);
    if (decoded === undefined || decoded.origin === instanceId) return;
    deliver([...listeners], decoded.signal, onListenerError);
  };

  const lost = (client: pg.Client, error?: unknown): void => {
    if (listener?.client !== client) return;
    listener = undefined;
    logger.warn('cluster LISTEN connection lost; reconnecting', { error });
    client.end().catch(() => undefined);
    scheduleReconnect();
  };

  const connect = async (): Promise<void> => {
    // Keepalives after 10 s idle: a LISTEN connection cut off silently is found and replaced.
    const client = new pg.Client({
      connectionString: url,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', (e) => lost(client, e));
    client.on('end', () => lost(client));
    client.on('notification', onNotification);
    try {
      await client.connect();
      await client.query(`LISTEN ${CLUSTER_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      if (closed) {
        await client.end();
        return;
      }
      listener = { client, pid: rows[0]?.pid ?? 0 };
    } catch (e) {
      client.end().catch(() => undefined);
      throw e;
    }
    if (failures > 0) logger.info('cluster LISTEN connection restored', { attempts: failures });
    failures = 0;
    // Whatever was signalled while no connection listened is lost: read the store again.
    deliver([...listeners], { kind: 'resync' }, onListenerError);
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer !== undefined) return;
    const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures, 16));
    failures++;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        connect().catch((e: unknown) => {
          logger.warn('cluster LISTEN reconnect failed', { error: e, attempt: failures });
          scheduleReconnect();
        });
      },
      ceiling / 2 + (Math.random() * ceiling) / 2,
    );
  };

  const drain = async (): Promise<void> => {
    sending = true;
    try {
      while (pending.size > 0 && !closed) {
        const batch = [...pending.values()].slice(0, BATCH);
        for (const s of batch) pending.delete(signalKey(s));
        const payloads = batch.map((s) => JSON.stringify({ o: instanceId, s }));
        const calls = payloads.map((_, i) => `pg_notify($1, $${String(i + 2)})`).join(', ');
        await notifier.query(`select ${calls}`, [CLUSTER_CHANNEL, ...payloads]);
      }
    } catch (e) {
      // Best effort: the others fall back to polling, heartbeats and lease checks.
      logger.warn('cluster NOTIFY failed; signals dropped', { error: e, dropped: pending.size });
      pending.clear();
    } finally {
      sending = false;
    }
  };

  await connect();

  return {
    publish(signal) {
      deliver([...listeners], signal, onListenerError);
      if (closed) return;
      const key = signalKey(signal);
      const queued = pending.get(key);
      if (signal.kind === 'events' && queued?.kind === 'events' && queued.seq > signal.seq) return;
      // Waiting power signals of one rack merge: a replaced one must not lose its machines.
      if (signal.kind === 'rack-power-configs' && queued?.kind === 'rack-power-configs')
        pending.set(key, mergePowerConfigsSignals(queued, signal));
      else pending.set(key, signal);
      if (!sending) void drain();
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    listenerPid: () => listener?.pid,
    connected: () => listener !== undefined,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const current = listener;
      listener = undefined;
      listeners.clear();
      await current?.client.end().catch(() => undefined);
      await notifier.end().catch(() => undefined);
    },
  };
}
