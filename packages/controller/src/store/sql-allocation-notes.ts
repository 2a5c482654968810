/** Allocation notes (`agent_name`, `owner_data`) in SQL (part of `SqlStore`). */
import type { Kysely } from 'kysely';
import { NO_NOTES, type AllocationNotes } from '../domain/machine/allocation-notes.ts';
import type { Database } from './schema.ts';

function ownerDataFrom(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  const data: Record<string, string> = {};
  if (typeof parsed !== 'object' || parsed === null) return data;
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') data[k] = v;
  return data;
}

/** `Store.getAllocationNotes`: {@link NO_NOTES} when the machine has none. */
export async function getAllocationNotes(
  db: Kysely<Database>,
  machineId: string,
): Promise<AllocationNotes> {
  const row = await db
    .selectFrom('allocation_notes')
    .selectAll()
    .where('machine_id', '=', machineId)
    .executeTakeFirst();
  if (row === undefined) return NO_NOTES;
  return { agentName: row.agent_name, ownerData: ownerDataFrom(row.owner_data) };
}

/** `Store.putAllocationNotes`: replaces the machine's notes (no row when they are empty). */
export async function putAllocationNotes(
  db: Kysely<Database>,
  machineId: string,
  notes: AllocationNotes,
): Promise<void> {
  if (notes.agentName === null && Object.keys(notes.ownerData).length === 0) {
    await db.deleteFrom('allocation_notes').where('machine_id', '=', machineId).execute();
    return;
  }
  const values = { agent_name: notes.agentName, owner_data: JSON.stringify(notes.ownerData) };
  await db
    .insertInto('allocation_notes')
    .values({ machine_id: machineId, ...values })
    .onConflict((oc) => oc.column('machine_id').doUpdateSet(values))
    .execute();
}
