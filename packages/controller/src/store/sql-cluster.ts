/**
 * The cluster's shared bookkeeping in SQL (`ClusterStore`): rack session leases and the end of
 * the event log. Claims are upserts, so two controllers claiming one rack at once leave exactly
 * one holder (the later write) on both dialects.
 */
import { sql, type Kysely } from 'kysely';
import type { ClusterStore, RackSessionClaim, RackSessionLease } from '../app/cluster-store.ts';
import type { Dialect } from './migrations/index.ts';
import type { Database } from './schema.ts';

type Row = Database['rack_sessions'];

function lease(row: Row): RackSessionLease {
  return {
    rackId: row.rack_id,
    controllerId: row.controller_id,
    controllerName: row.controller_name,
    sessionId: row.session_id,
    startedAtMs: row.started_at,
    renewedAtMs: row.renewed_at,
    expiresAtMs: row.expires_at,
  };
}

/** `ClusterStore` over a Kysely database of either dialect. */
export class SqlClusterStore implements ClusterStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  async claimRackSession(claim: RackSessionClaim): Promise<RackSessionLease | undefined> {
    const row: Row = {
      rack_id: claim.rackId,
      controller_id: claim.controllerId,
      controller_name: claim.controllerName,
      session_id: claim.sessionId,
      started_at: claim.nowMs,
      renewed_at: claim.nowMs,
      expires_at: claim.expiresAtMs,
    };
    // The rack's row lock (PostgreSQL) or the single writer (SQLite) makes "read the old holder,
    // write the new one" one step: a concurrent claim waits and then replaces this one. (Locking
    // the lease row would not do: before the first claim there is none to lock.)
    const claimIn = async (trx: Kysely<Database>): Promise<RackSessionLease | undefined> => {
      if (this.#dialect === 'postgres') {
        await trx
          .selectFrom('racks')
          .select('id')
          .where('id', '=', claim.rackId)
          .forUpdate()
          .execute();
      }
      const read = trx.selectFrom('rack_sessions').selectAll().where('rack_id', '=', claim.rackId);
      const previous = await read.executeTakeFirst();
      await trx
        .insertInto('rack_sessions')
        .values(row)
        .onConflict((oc) =>
          oc.column('rack_id').doUpdateSet({
            controller_id: row.controller_id,
            controller_name: row.controller_name,
            session_id: row.session_id,
            started_at: row.started_at,
            renewed_at: row.renewed_at,
            expires_at: row.expires_at,
          }),
        )
        .execute();
      return previous === undefined ? undefined : lease(previous);
    };
    if (this.#db.isTransaction) return claimIn(this.#db);
    return this.#db.transaction().execute(claimIn);
  }

  async getRackSession(rackId: string): Promise<RackSessionLease | undefined> {
    const row = await this.#db
      .selectFrom('rack_sessions')
      .selectAll()
      .where('rack_id', '=', rackId)
      .executeTakeFirst();
    return row === undefined ? undefined : lease(row);
  }

  async renewRackSessions(
    controllerId: string,
    sessionIds: readonly string[],
    nowMs: number,
    expiresAtMs: number,
  ): Promise<string[]> {
    const renewed: string[] = [];
    // Chunked: SQLite limits bound parameters per statement.
    for (let i = 0; i < sessionIds.length; i += 500) {
      const rows = await this.#db
        .updateTable('rack_sessions')
        .set({ renewed_at: nowMs, expires_at: expiresAtMs })
        .where('controller_id', '=', controllerId)
        .where('session_id', 'in', sessionIds.slice(i, i + 500))
        .returning('session_id')
        .execute();
      renewed.push(...rows.map((r) => r.session_id));
    }
    return renewed;
  }

  async releaseRackSession(rackId: string, sessionId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('rack_sessions')
      .where('rack_id', '=', rackId)
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listRackSessions(): Promise<RackSessionLease[]> {
    const rows = await this.#db
      .selectFrom('rack_sessions')
      .selectAll()
      .orderBy('rack_id')
      .execute();
    return rows.map(lease);
  }

  async takeExpiredRackSessions(nowMs: number, limit: number): Promise<RackSessionLease[]> {
    // Delete only what is still expired when deleted: a lease renewed or re-claimed since the
    // read is left alone (its row no longer matches `expires_at <= now`).
    const candidates = await this.#db
      .selectFrom('rack_sessions')
      .select('rack_id')
      .where('expires_at', '<=', nowMs)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    if (candidates.length === 0) return [];
    const rows = await this.#db
      .deleteFrom('rack_sessions')
      .where(
        'rack_id',
        'in',
        candidates.map((c) => c.rack_id),
      )
      .where('expires_at', '<=', nowMs)
      .returningAll()
      .execute();
    return rows.map(lease);
  }

  async lastEventSeq(): Promise<number> {
    const row = await this.#db
      .selectFrom('events')
      .select(sql<number | null>`max(seq)`.as('last'))
      .executeTakeFirst();
    return row?.last ?? 0;
  }
}
