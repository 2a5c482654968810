/**
 * Brute-force limits shared by every controller on one database (issue 7, security): one row per
 * counted key — a source address or a claimed identity, per credential kind — with its failures
 * in the current fixed window. Rows expire with their window and are pruned; a remembered
 * successful sign-in is a row with 0 failures that expires later.
 */
import type { Kysely, Migration } from 'kysely';

/** `0009_auth_failures`: the `auth_failures` table. */
export const authFailuresMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('auth_failures')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('auth_failures_expires')
      .on('auth_failures')
      .column('expires_at')
      .execute();
  },
};
