/**
 * The image store in the database (issue 7): what a PostgreSQL controller uses, so that a file
 * uploaded through one controller can be fetched through any other on the same database.
 *
 * A file is split into `bytea` rows of {@link BLOB_CHUNK_BYTES} (`blob_chunks`, migration
 * `0010_blobs`) and streamed in and out a chunk or a few at a time; no whole file is ever held in
 * memory. An upload writes its chunks and then its `blobs` row in one transaction, after the
 * bytes were checked against their sha256 and size: readers never see a partial or unverified
 * file, and a controller that dies mid-upload leaves nothing behind (the transaction rolls back).
 * Two controllers storing the same file at once write their chunks under their own upload ids;
 * the second `blobs` insert waits for the first, finds its row and rolls back its own chunks.
 *
 * Why chunked `bytea` rather than PostgreSQL large objects: rows go through the same Kysely
 * queries, transactions, `TRUNCATE`s and `pg_dump` as the rest of the data; large objects need
 * `lo_*` calls on one connection inside one transaction for every read, are not removed with
 * their referencing row (`lo_unlink` or `vacuumlo`), and are not dumped by `pg_dump -t`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { err, ok } from '@ingot/common';
import type { BlobRange, BlobStore, BlobWriteError } from '../app/blob-store.ts';
import { SHA256_HEX } from '../app/blob-store.ts';
import type { Database } from './schema.ts';

/** Bytes per `blob_chunks` row (the last chunk of a file is shorter). */
export const BLOB_CHUNK_BYTES = 1 << 20;

/** Chunks fetched per query when streaming a file out. */
const CHUNKS_PER_READ = 4;

/** Options of {@link openSqlBlobStore}. */
export interface SqlBlobStoreOptions {
  /** Chunk size for new files (tests use small ones); stored per file, so it may change. */
  readonly chunkBytes?: number;
  /** Milliseconds since the epoch, for `created_at`. */
  readonly now?: () => number;
}

/** Thrown inside the upload transaction to roll it back with a typed reason. */
class UploadRefused extends Error {
  readonly reason: BlobWriteError | 'already-stored';

  constructor(reason: BlobWriteError | 'already-stored') {
    super(typeof reason === 'string' ? reason : reason.kind);
    this.reason = reason;
  }
}

function checkName(sha256: string): void {
  // The API validates names; anything else reaching here is a bug.
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
}

/**
 * A {@link BlobStore} on the `blobs`/`blob_chunks` tables of `db` (migrated). Uploads hold one
 * connection of `db`'s pool for as long as the body takes to arrive, so the controller gives this
 * store a pool of its own rather than the API's.
 */
export function openSqlBlobStore(
  db: Kysely<Database>,
  options: SqlBlobStoreOptions = {},
): BlobStore {
  const chunkBytes = options.chunkBytes ?? BLOB_CHUNK_BYTES;
  const now = options.now ?? Date.now;

  const stat: BlobStore['stat'] = async (sha256) => {
    checkName(sha256);
    const row = await db
      .selectFrom('blobs')
      .select('size_bytes')
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row === undefined ? undefined : { sha256, sizeBytes: row.size_bytes };
  };

  return {
    stat,

    async write(sha256, body, expectedSizeBytes) {
      const existing = await stat(sha256);
      if (existing !== undefined) return ok({ created: false, sizeBytes: existing.sizeBytes });
      const uploadId = randomUUID();
      const source = (async function* () {
        yield* body;
      })();
      try {
        const sizeBytes = await db.transaction().execute(async (trx) => {
          const hash = createHash('sha256');
          let size = 0;
          let idx = 0;
          let pending: Buffer[] = [];
          let pendingBytes = 0;
          const insertChunk = async (data: Buffer): Promise<void> => {
            await trx
              .insertInto('blob_chunks')
              .values({ upload_id: uploadId, idx: idx++, data })
              .execute();
          };
          for (;;) {
            let next: IteratorResult<Uint8Array>;
            try {
              next = await source.next();
            } catch (e: unknown) {
              const detail = e instanceof Error ? e.message : String(e);
              throw new UploadRefused({ kind: 'interrupted', detail });
            }
            if (next.done === true) break;
            const piece = next.value;
            hash.update(piece);
            size += piece.byteLength;
            // Stop early on an oversized body instead of filling the database with it.
            if (expectedSizeBytes !== undefined && size > expectedSizeBytes) break;
            pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
            pendingBytes += piece.byteLength;
            if (pendingBytes >= chunkBytes) {
              const joined = Buffer.concat(pending, pendingBytes);
              let offset = 0;
              for (; joined.byteLength - offset >= chunkBytes; offset += chunkBytes) {
                await insertChunk(joined.subarray(offset, offset + chunkBytes));
              }
              // A copy, so the joined buffer is not kept alive by its tail.
              const rest = Buffer.from(joined.subarray(offset));
              pending = rest.byteLength > 0 ? [rest] : [];
              pendingBytes = rest.byteLength;
            }
          }
          if (expectedSizeBytes !== undefined && size !== expectedSizeBytes) {
            throw new UploadRefused({
              kind: 'size-mismatch',
              expected: expectedSizeBytes,
              actual: size,
            });
          }
          const actual = hash.digest('hex');
          if (actual !== sha256) {
            throw new UploadRefused({
              kind: 'digest-mismatch',
              expected: sha256,
              actual,
              sizeBytes: size,
            });
          }
          if (pendingBytes > 0) await insertChunk(Buffer.concat(pending, pendingBytes));
          // Another controller may have stored the same file meanwhile: its row wins (this insert
          // waits for its transaction) and ours rolls back with our chunks.
          const inserted = await trx
            .insertInto('blobs')
            .values({
              sha256,
              upload_id: uploadId,
              size_bytes: size,
              chunk_bytes: chunkBytes,
              created_at: now(),
            })
            .onConflict((oc) => oc.column('sha256').doNothing())
            .returning('sha256')
            .executeTakeFirst();
          if (inserted === undefined) throw new UploadRefused('already-stored');
          return size;
        });
        return ok({ created: true, sizeBytes });
      } catch (e: unknown) {
        if (!(e instanceof UploadRefused)) throw e;
        if (e.reason !== 'already-stored') return err(e.reason);
        const winner = await stat(sha256);
        if (winner === undefined) throw new Error(`blob ${sha256} vanished after a racing write`);
        return ok({ created: false, sizeBytes: winner.sizeBytes });
      } finally {
        // Cancels the request body when we stopped reading early.
        await source.return(undefined);
      }
    },

    read(sha256, range) {
      checkName(sha256);
      return readChunks(db, sha256, range);
    },

    async delete(sha256) {
      checkName(sha256);
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .deleteFrom('blobs')
          .where('sha256', '=', sha256)
          .returning('upload_id')
          .executeTakeFirst();
        if (row === undefined) return false;
        await trx.deleteFrom('blob_chunks').where('upload_id', '=', row.upload_id).execute();
        return true;
      });
    },
  };
}

/**
 * Streams the chunks covering `range` (or the whole blob), {@link CHUNKS_PER_READ} per query,
 * fetching only when the consumer asks for more (high-water mark 0), so a slow client holds no
 * more than one batch in memory and no connection between batches.
 */
function readChunks(
  db: Kysely<Database>,
  sha256: string,
  range: BlobRange | undefined,
): ReadableStream<Uint8Array> {
  let plan:
    { uploadId: string; chunkBytes: number; start: number; end: number; next: number } | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (plan === undefined) {
          const row = await db
            .selectFrom('blobs')
            .select(['upload_id', 'size_bytes', 'chunk_bytes'])
            .where('sha256', '=', sha256)
            .executeTakeFirst();
          if (row === undefined) {
            controller.error(new Error(`image file ${sha256} is not stored`));
            return;
          }
          const start = range?.start ?? 0;
          const end = range?.end ?? row.size_bytes - 1;
          if (end < start) {
            controller.close();
            return;
          }
          const chunkBytes = row.chunk_bytes;
          const next = Math.floor(start / chunkBytes);
          plan = { uploadId: row.upload_id, chunkBytes, start, end, next };
        }
        const p = plan;
        const lastIdx = Math.floor(p.end / p.chunkBytes);
        const upTo = Math.min(lastIdx, p.next + CHUNKS_PER_READ - 1);
        const rows = await db
          .selectFrom('blob_chunks')
          .select(['idx', 'data'])
          .where('upload_id', '=', p.uploadId)
          .where('idx', '>=', p.next)
          .where('idx', '<=', upTo)
          .orderBy('idx')
          .execute();
        if (rows.length !== upTo - p.next + 1) {
          controller.error(new Error(`image file ${sha256} was deleted while being read`));
          return;
        }
        for (const row of rows) {
          const offset = row.idx * p.chunkBytes;
          const from = Math.max(0, p.start - offset);
          const to = Math.min(row.data.byteLength, p.end - offset + 1);
          controller.enqueue(row.data.subarray(from, to));
        }
        p.next = upTo + 1;
        if (p.next > lastIdx) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}
