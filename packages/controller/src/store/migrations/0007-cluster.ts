/**
 * Several controllers on one database (issue 7): `rack_sessions` records which controller holds
 * each rack's one live gRPC session, with a lease its holder renews. A controller that dies stops
 * renewing, and the lease expires.
 */
import type { Kysely, Migration } from 'kysely';

/** `0007_cluster`: the `rack_sessions` table. */
export const clusterMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('rack_sessions')
      .addColumn('rack_id', 'text', (c) =>
        c.primaryKey().references('racks.id').onDelete('cascade'),
      )
      .addColumn('controller_id', 'text', (c) => c.notNull())
      .addColumn('controller_name', 'text', (c) => c.notNull())
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('renewed_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('rack_sessions_expires')
      .on('rack_sessions')
      .column('expires_at')
      .execute();
  },
};
