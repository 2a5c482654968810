import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTestsEnabled } from '../testing/use-postgres-server.ts';
import { startPostgresServer, type PostgresServer } from '../testing/postgres-server.ts';
import { describeBlobStoreContract, readAll } from './blob-store.contract.ts';
import { createPostgresDatabase } from './postgres.ts';
import type { Database } from './schema.ts';
import { openSqlBlobStore } from './sql-blobs.ts';
import { migrate } from './sqlite.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!postgresTestsEnabled())('image files in PostgreSQL', () => {
  let server: PostgresServer | undefined;
  let url = '';
  const pools: Kysely<Database>[] = [];
  const pool = (): Kysely<Database> => {
    const db = createPostgresDatabase(url, { maxConnections: 4 });
    pools.push(db);
    return db;
  };
  let db: Kysely<Database>;

  beforeAll(async () => {
    server = await startPostgresServer();
    url = await server.createDatabase();
    db = pool();
    await migrate(db, 'postgres');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.destroy()));
    await server?.stop();
  }, 60_000);

  const chunkCount = async (): Promise<number> =>
    Number(
      (await sql<{ n: number }>`select count(*) as n from blob_chunks`.execute(db)).rows[0]?.n,
    );

  describeBlobStoreContract('postgres', async () => {
    await sql`truncate blobs, blob_chunks`.execute(db);
    return openSqlBlobStore(db, { chunkBytes: 4096 });
  });

  it('a refused or interrupted upload leaves no chunk behind', async () => {
    await sql`truncate blobs, blob_chunks`.execute(db);
    const store = openSqlBlobStore(db, { chunkBytes: 4096 });
    const bytes = randomBytes(30_000);
    expect((await store.write(sha(randomBytes(4)), [bytes])).ok).toBe(false);
    expect((await store.write(sha(bytes), [bytes], 30_001)).ok).toBe(false);
    const failing = (async function* (): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, 20_000);
      await Promise.resolve();
      throw new Error('gone');
    })();
    expect((await store.write(sha(bytes), failing)).ok).toBe(false);
    expect(await chunkCount()).toBe(0);
    expect((await store.write(sha(bytes), [bytes])).ok).toBe(true);
    expect(await chunkCount()).toBe(Math.ceil(30_000 / 4096));
    expect(await store.delete(sha(bytes))).toBe(true);
    expect(await chunkCount()).toBe(0);
  });

  it('two controllers (two pools) storing the same file at once: one copy, one created', async () => {
    await sql`truncate blobs, blob_chunks`.execute(db);
    const a = openSqlBlobStore(pool(), { chunkBytes: 4096 });
    const b = openSqlBlobStore(pool(), { chunkBytes: 4096 });
    const bytes = randomBytes(200_000);
    const slow = async function* (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        yield bytes.subarray(i, i + 10_000);
      }
    };
    const results = await Promise.all([
      a.write(sha(bytes), slow(), bytes.length),
      b.write(sha(bytes), slow(), bytes.length),
    ]);
    expect(results.map((r) => r.ok && r.value.created).sort()).toEqual([false, true]);
    expect(await chunkCount()).toBe(Math.ceil(200_000 / 4096));
    expect((await readAll(a.read(sha(bytes)))).equals(bytes)).toBe(true);
    expect(
      (await readAll(b.read(sha(bytes), { start: 4000, end: 9000 }))).equals(
        bytes.subarray(4000, 9001),
      ),
    ).toBe(true);
  });

  it('files of the default 1 MiB chunk size', async () => {
    const store = openSqlBlobStore(db);
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    expect((await store.write(sha(bytes), [bytes], bytes.length)).ok).toBe(true);
    expect((await readAll(store.read(sha(bytes)))).equals(bytes)).toBe(true);
    const range = { start: 1024 * 1024 - 3, end: 2 * 1024 * 1024 + 2 };
    expect(
      (await readAll(store.read(sha(bytes), range))).equals(
        bytes.subarray(range.start, range.end + 1),
      ),
    ).toBe(true);
  });
});
