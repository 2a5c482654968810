/**
 * The event log in SQL (part of `SqlStore`). Appends are idempotent on the event id, so a rack
 * that resends a batch after a reconnect does not duplicate its steps.
 */
import type { Kysely } from 'kysely';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import type { EventFilter } from '../app/ports.ts';
import type { Database } from './schema.ts';
import { eventFromRow } from './rows.ts';

/** Rows per INSERT: SQLite limits bound parameters per statement. */
const EVENT_BATCH = 500;

/** `Store.appendEvents`. */
export async function appendEvents(
  db: Kysely<Database>,
  events: readonly NewEvent[],
  nowMs: number,
): Promise<EventRecord[]> {
  const stored: EventRecord[] = [];
  for (let i = 0; i < events.length; i += EVENT_BATCH) {
    const rows = events.slice(i, i + EVENT_BATCH).map((e) => ({
      id: e.id,
      kind: e.kind,
      machine_id: e.machineId,
      rack_id: e.rackId,
      step: e.step,
      result: e.result,
      from_status: e.fromStatus,
      to_status: e.toStatus,
      actor: e.actor,
      message: e.message,
      data: JSON.stringify(e.data),
      occurred_at: e.occurredAtMs,
      recorded_at: nowMs,
    }));
    const inserted = await db
      .insertInto('events')
      .values(rows)
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .execute();
    stored.push(...inserted.map(eventFromRow));
  }
  return stored.sort((a, b) => a.seq - b.seq);
}

/** `Store.listEvents`. */
export async function listEvents(
  db: Kysely<Database>,
  filter: EventFilter,
): Promise<EventRecord[]> {
  let q = db.selectFrom('events').selectAll();
  if (filter.machineId !== undefined) q = q.where('machine_id', '=', filter.machineId);
  if (filter.machineIds !== undefined) {
    if (filter.machineIds.length === 0) return [];
    q = q.where('machine_id', 'in', [...filter.machineIds]);
  }
  if (filter.steps !== undefined) {
    if (filter.steps.length === 0) return [];
    q = q.where('step', 'in', [...filter.steps]);
  }
  if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
  if (filter.kinds !== undefined) {
    if (filter.kinds.length === 0) return [];
    q = q.where('kind', 'in', [...filter.kinds]);
  }
  const rows = await q
    .orderBy('seq')
    .limit(filter.limit ?? 1000)
    .execute();
  return rows.map(eventFromRow);
}

/** `Store.hasEvent`. */
export async function hasEvent(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom('events').select('seq').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}
