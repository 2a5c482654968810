/**
 * Migration 0005: allocation notes (MAAS's `agent_name` and `owner_data`, kept with the
 * allocation and dropped on release), one row per machine that has any.
 */
import type { Kysely, Migration } from 'kysely';

/** Adds `allocation_notes`. */
export const maasAllocationNotes: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('allocation_notes')
      .addColumn('machine_id', 'text', (c) =>
        c.primaryKey().references('machines.id').onDelete('cascade'),
      )
      .addColumn('agent_name', 'text')
      // A JSON object of strings.
      .addColumn('owner_data', 'text', (c) => c.notNull())
      .execute();
  },
};
