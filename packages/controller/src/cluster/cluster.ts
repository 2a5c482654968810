/**
 * The cluster a controller belongs to: the signal channel and the leadership, chosen by the
 * database. On PostgreSQL several controllers share the database, so signals go through
 * LISTEN/NOTIFY and leadership is an advisory lock. On SQLite the controller is alone: an
 * in-process signal hub and always the leader. The rest of the controller sees only the ports.
 */
import type { Logger } from '@ingot/common';
import type { ControllerInstance } from './instance.ts';
import { soleLeader, startPostgresLeadership, type Leadership } from './leadership.ts';
import { startPostgresSignals } from './pg-signals.ts';
import { createSignalHub, type ClusterSignals } from './signals.ts';

/** The parts of the cluster a controller uses. */
export interface Cluster {
  readonly instance: ControllerInstance;
  readonly signals: ClusterSignals;
  readonly leadership: Leadership;
  close(): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  readonly instance: ControllerInstance;
  readonly logger: Logger;
  /** The shared PostgreSQL database; absent on SQLite. */
  readonly postgresUrl?: string | undefined;
  /** How often a follower tries to become the leader (default 2 s). */
  readonly leaderRetryMs?: number | undefined;
}

/** Joins the cluster: connects the LISTEN connection and makes the first leadership try. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { instance, logger, postgresUrl } = options;
  if (postgresUrl === undefined) {
    const signals = createSignalHub((e) =>
      logger.error('cluster signal listener failed', { error: e }),
    ).join();
    return {
      instance,
      signals,
      leadership: soleLeader,
      close: () => signals.close(),
    };
  }
  const signals = await startPostgresSignals({ url: postgresUrl, instanceId: instance.id, logger });
  let leadership: Leadership;
  try {
    leadership = await startPostgresLeadership({
      url: postgresUrl,
      logger,
      retryMs: options.leaderRetryMs,
    });
  } catch (e) {
    await signals.close();
    throw e;
  }
  return {
    instance,
    signals,
    leadership,
    async close() {
      await leadership.close();
      await signals.close();
    },
  };
}
