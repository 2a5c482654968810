/**
 * The `BlobStore` contract (app/blob-store.ts), run against every adapter: the filesystem store
 * (`fs-blob-store.test.ts`) and the database store on PostgreSQL (`sql-blobs.test.ts`). Sizes sit
 * around 4,096 bytes, the chunk size the database store is opened with in its test, so chunk
 * boundaries are crossed in every way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../app/blob-store.ts';

/** Opens an empty store. */
export type OpenBlobStore = () => Promise<BlobStore>;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** `bytes` as pieces of `size` bytes (the last shorter), the way a request body arrives. */
function* pieces(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

/** Reads a stream to one buffer. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

/** Registers the contract for adapter `name`. */
export function describeBlobStoreContract(name: string, open: OpenBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    it.each([0, 1, 4095, 4096, 4097, 3 * 4096, 100_003])(
      'stores %i bytes sent in odd pieces and streams them back byte for byte',
      async (size) => {
        const store = await open();
        const bytes = randomBytes(size);
        const written = await store.write(sha(bytes), pieces(bytes, 1000 + (size % 7)), size);
        expect(written).toEqual({ ok: true, value: { created: true, sizeBytes: size } });
        expect(await store.stat(sha(bytes))).toEqual({ sha256: sha(bytes), sizeBytes: size });
        expect((await readAll(store.read(sha(bytes)))).equals(bytes)).toBe(true);
      },
    );

    it('serves inclusive ranges inside, across and at the ends of chunks', async () => {
      const store = await open();
      const bytes = randomBytes(5 * 4096 + 123);
      expect((await store.write(sha(bytes), [bytes])).ok).toBe(true);
      for (const [start, end] of [
        [0, 0],
        [0, 4095],
        [4095, 4096],
        [100, 199],
        [4000, 3 * 4096 + 5],
        [4096, 2 * 4096 - 1],
        [bytes.length - 1, bytes.length - 1],
        [17, bytes.length - 1],
      ] as const) {
        const got = await readAll(store.read(sha(bytes), { start, end }));
        expect(got.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
    });

    it('does not rewrite a stored blob, nor read the body', async () => {
      const store = await open();
      const bytes = randomBytes(9000);
      expect((await store.write(sha(bytes), [bytes])).ok).toBe(true);
      const untouchable = (function* (): Generator<Uint8Array> {
        throw new Error('the body was read');
      })();
      expect(await store.write(sha(bytes), untouchable)).toEqual({
        ok: true,
        value: { created: false, sizeBytes: 9000 },
      });
    });

    it('keeps nothing when the bytes hash to another name', async () => {
      const store = await open();
      const bytes = randomBytes(10_000);
      const claimed = sha(randomBytes(8));
      expect(await store.write(claimed, pieces(bytes, 3000))).toEqual({
        ok: false,
        error: {
          kind: 'digest-mismatch',
          expected: claimed,
          actual: sha(bytes),
          sizeBytes: 10_000,
        },
      });
      expect(await store.stat(claimed)).toBeUndefined();
      expect(await store.stat(sha(bytes))).toBeUndefined();
    });

    it('keeps nothing when fewer or more bytes arrive than announced', async () => {
      const store = await open();
      const bytes = randomBytes(10_000);
      expect(await store.write(sha(bytes), [bytes], 10_001)).toEqual({
        ok: false,
        error: { kind: 'size-mismatch', expected: 10_001, actual: 10_000 },
      });
      const longer = await store.write(sha(bytes), pieces(bytes, 100), 5000);
      expect(longer.ok ? undefined : longer.error.kind).toBe('size-mismatch');
      expect(await store.stat(sha(bytes))).toBeUndefined();
    });

    it('keeps nothing when the body fails half way, and takes the file again afterwards', async () => {
      const store = await open();
      const bytes = randomBytes(20_000);
      const failing = (async function* (): AsyncGenerator<Uint8Array> {
        yield bytes.subarray(0, 9000);
        await Promise.resolve();
        throw new Error('client went away');
      })();
      expect(await store.write(sha(bytes), failing, 20_000)).toEqual({
        ok: false,
        error: { kind: 'interrupted', detail: 'client went away' },
      });
      expect(await store.stat(sha(bytes))).toBeUndefined();
      const again = await store.write(sha(bytes), pieces(bytes, 4096), 20_000);
      expect(again).toEqual({ ok: true, value: { created: true, sizeBytes: 20_000 } });
      expect((await readAll(store.read(sha(bytes)))).equals(bytes)).toBe(true);
    });

    it('two writes of the same file at once: both succeed, one copy is kept', async () => {
      const store = await open();
      const bytes = randomBytes(50_000);
      const slow = async function* (): AsyncGenerator<Uint8Array> {
        for (const piece of pieces(bytes, 5000)) {
          await new Promise((resolve) => setImmediate(resolve));
          yield piece;
        }
      };
      const results = await Promise.all([
        store.write(sha(bytes), slow(), 50_000),
        store.write(sha(bytes), slow(), 50_000),
      ]);
      for (const r of results) expect(r.ok && r.value.sizeBytes).toBe(50_000);
      expect(results.some((r) => r.ok && r.value.created)).toBe(true);
      expect((await readAll(store.read(sha(bytes)))).equals(bytes)).toBe(true);
    });

    it('deletes a blob once; other blobs stay', async () => {
      const store = await open();
      const a = randomBytes(9000);
      const b = randomBytes(9001);
      await store.write(sha(a), [a]);
      await store.write(sha(b), [b]);
      expect(await store.delete(sha(a))).toBe(true);
      expect(await store.delete(sha(a))).toBe(false);
      expect(await store.stat(sha(a))).toBeUndefined();
      expect((await readAll(store.read(sha(b)))).equals(b)).toBe(true);
      expect(await store.delete(sha(randomBytes(4)))).toBe(false);
    });
  });
}
