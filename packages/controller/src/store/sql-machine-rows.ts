/**
 * The rows beside a machine: its MACs and tags, written with it and read back with it
 * (`hydrateMachines`), in batches so a page of machines costs two queries, not two per machine.
 */
import type { Kysely } from 'kysely';
import type { Machine } from '../domain/machine/machine.ts';
import type { Database } from './schema.ts';
import { machineFromRow } from './rows.ts';

/** Replaces the machine's MACs and tags with those given; `undefined` leaves them as they are. */
export async function writeMacsAndTags(
  db: Kysely<Database>,
  id: string,
  macs: readonly string[] | undefined,
  tags: readonly string[] | undefined,
): Promise<void> {
  if (macs !== undefined) {
    await db.deleteFrom('machine_macs').where('machine_id', '=', id).execute();
    if (macs.length > 0) {
      await db
        .insertInto('machine_macs')
        .values(macs.map((mac) => ({ mac, machine_id: id })))
        .execute();
    }
  }
  if (tags !== undefined) {
    await db.deleteFrom('machine_tags').where('machine_id', '=', id).execute();
    const unique = [...new Set(tags)];
    if (unique.length > 0) {
      await db
        .insertInto('machine_tags')
        .values(unique.map((tag) => ({ tag, machine_id: id })))
        .execute();
    }
  }
}

/** Machines from their rows, with MACs and tags read in batches. */
export async function hydrateMachines(
  db: Kysely<Database>,
  rows: readonly Database['machines'][],
): Promise<Machine[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const macs = new Map<string, string[]>();
  const tags = new Map<string, string[]>();
  // Chunk the IN lists: SQLite limits bound parameters per statement.
  for (let i = 0; i < ids.length; i += 900) {
    const chunk = ids.slice(i, i + 900);
    for (const r of await db
      .selectFrom('machine_macs')
      .selectAll()
      .where('machine_id', 'in', chunk)
      .execute()) {
      macs.set(r.machine_id, [...(macs.get(r.machine_id) ?? []), r.mac]);
    }
    for (const r of await db
      .selectFrom('machine_tags')
      .selectAll()
      .where('machine_id', 'in', chunk)
      .execute()) {
      tags.set(r.machine_id, [...(tags.get(r.machine_id) ?? []), r.tag]);
    }
  }
  return rows.map((r) => machineFromRow(r, macs.get(r.id) ?? [], tags.get(r.id) ?? []));
}
