/**
 * Leadership for work one controller of several should do at a time: the deadline sweep and
 * ending the leases of dead controllers. On PostgreSQL the leader is whoever holds a session-level
 * advisory lock on its own dedicated connection: the server releases it the moment that
 * connection ends, so when the leader dies (even kill -9, whose sockets the kernel closes) another
 * controller takes it on its next try. On SQLite there is one controller, always the leader.
 *
 * Two leaders at once are possible for a moment (a leader whose connection died and that has not
 * noticed yet); the work is safe regardless, as every write it makes is a version-checked
 * compare-and-set. Leadership only avoids doing it twice.
 */
import pg from 'pg';
import type { Logger } from '@ingot/common';

/** Port: whether this controller should do the cluster's singleton work now. */
export interface Leadership {
  isLeader(): boolean;
  close(): Promise<void>;
}

/** The only controller (SQLite): always the leader. */
export const soleLeader: Leadership = {
  isLeader: () => true,
  close: () => Promise.resolve(),
};

/** Key of the advisory lock the sweeper's leader holds (a constant unique to Ingot). */
export const LEADER_LOCK = 7_316_290_442;

/** Options of {@link startPostgresLeadership}. */
export interface PostgresLeadershipOptions {
  readonly url: string;
  readonly logger: Logger;
  /** How often a follower tries to take the lock and a leader checks its connection (2 s). */
  readonly retryMs?: number;
  readonly lockKey?: number;
}

/** Starts trying to become the leader; the first try runs before this resolves. */
export async function startPostgresLeadership(
  options: PostgresLeadershipOptions,
): Promise<Leadership> {
  const { url, logger } = options;
  const retryMs = options.retryMs ?? 2_000;
  const lockKey = options.lockKey ?? LEADER_LOCK;
  let client: pg.Client | undefined;
  let leader = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const setLeader = (value: boolean, why: string): void => {
    if (value === leader) return;
    leader = value;
    if (value) logger.info('this controller is now the sweeper leader');
    else logger.warn('this controller is no longer the sweeper leader', { why });
  };

  const drop = (c: pg.Client, why: string): void => {
    if (client !== c) return;
    client = undefined;
    setLeader(false, why);
    c.end().catch(() => undefined);
  };

  const tick = async (): Promise<void> => {
    if (client === undefined) {
      // A leader cut off from the server must notice within seconds, not at TCP's defaults: its
      // checks time out and keepalives start after 10 s idle.
      const c = new pg.Client({
        connectionString: url,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        query_timeout: Math.max(5_000, retryMs * 2),
        connectionTimeoutMillis: 10_000,
      });
      c.on('error', () => drop(c, 'connection error'));
      c.on('end', () => drop(c, 'connection ended'));
      client = c;
      await c.connect();
    }
    const c = client;
    if (leader) {
      // The lock lives as long as this connection: check it still does.
      await c.query('select 1');
      return;
    }
    const { rows } = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [
      lockKey,
    ]);
    if (closed) return;
    setLeader(rows[0]?.ok === true, 'lock held elsewhere');
  };

  const loop = async (): Promise<void> => {
    try {
      await tick();
    } catch (e) {
      const c = client;
      if (c !== undefined) drop(c, e instanceof Error ? e.message : 'query failed');
    }
    if (!closed) timer = setTimeout(() => void loop(), retryMs);
  };

  await loop();

  return {
    isLeader: () => leader && !closed,
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      leader = false;
      // Ending the connection releases the lock for the next leader.
      await c?.end().catch(() => undefined);
    },
  };
}
