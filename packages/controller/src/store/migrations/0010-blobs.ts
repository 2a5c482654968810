/**
 * Image files in the database (issue 7: several controllers on one PostgreSQL must all serve every
 * image file). A blob is a row in `blobs` naming the upload whose chunks hold its bytes; the bytes
 * are `blob_chunks` rows of `chunk_bytes` each (the last one shorter). The chunks are keyed by the
 * upload, not by the sha256, so two controllers storing the same file at once never collide on a
 * chunk: the first to insert the `blobs` row wins and the other's transaction rolls back.
 *
 * The tables exist on SQLite too (one schema for both dialects), but a SQLite controller keeps
 * its image files on disk (`store/fs-blob-store.ts`).
 */
import { sql, type Kysely, type Migration } from 'kysely';

/** `0010_blobs`: the `blobs` and `blob_chunks` tables. */
export function blobsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('upload_id', 'text', (c) => c.notNull().unique())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('chunk_bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('blob_chunks')
        .addColumn('upload_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('data', sql.raw(dialect === 'postgres' ? 'bytea' : 'blob'), (c) => c.notNull())
        .addPrimaryKeyConstraint('blob_chunks_pk', ['upload_id', 'idx'])
        .execute();
      if (dialect === 'postgres') {
        // Image files are compressed already (squashfs, gzip/zstd initrds): storing chunks out of
        // line without pglz saves the failed compression attempt on every write.
        await sql`alter table blob_chunks alter column data set storage external`.execute(db);
      }
    },
  };
}
