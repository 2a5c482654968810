/**
 * The image store on disk: `<dir>/<sha256>`, one file per blob. Uploads go to `<dir>/.tmp/` while
 * they are hashed, are fsynced, and are renamed into place only when digest and size match, so a
 * crash or a bad upload never leaves a file under a name it does not hash to.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { err, ok } from '@ingot/common';
import type { BlobStore } from '../app/blob-store.ts';
import { SHA256_HEX } from '../app/blob-store.ts';

/**
 * Opens (creating if needed) the store in `dir`. Leftovers of uploads a crash interrupted
 * (`dir/.tmp`) are removed. Throws if the directory cannot be created.
 */
export function openFsBlobStore(dir: string): BlobStore {
  const tmpDir = join(dir, '.tmp');
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const pathOf = (sha256: string): string => {
    // Names reach here from URLs: anything but 64 hex digits could walk out of `dir`.
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
    return join(dir, sha256);
  };

  const statBlob: BlobStore['stat'] = async (sha256) => {
    try {
      const info = await stat(pathOf(sha256));
      return info.isFile() ? { sha256, sizeBytes: info.size } : undefined;
    } catch {
      return undefined;
    }
  };

  return {
    stat: statBlob,

    async write(sha256, body, expectedSizeBytes) {
      const existing = await statBlob(sha256);
      if (existing !== undefined) return ok({ created: false, sizeBytes: existing.sizeBytes });
      const tmp = join(tmpDir, `${sha256}.${randomBytes(6).toString('hex')}`);
      const file = await open(tmp, 'wx', 0o600);
      const hash = createHash('sha256');
      let sizeBytes = 0;
      let kept = false;
      try {
        try {
          for await (const chunk of body) {
            hash.update(chunk);
            sizeBytes += chunk.byteLength;
            // Stop early on an oversized body instead of filling the disk with it.
            if (expectedSizeBytes !== undefined && sizeBytes > expectedSizeBytes) break;
            await file.write(chunk);
          }
        } catch (e: unknown) {
          return err({ kind: 'interrupted', detail: e instanceof Error ? e.message : String(e) });
        }
        if (expectedSizeBytes !== undefined && sizeBytes !== expectedSizeBytes) {
          return err({ kind: 'size-mismatch', expected: expectedSizeBytes, actual: sizeBytes });
        }
        const actual = hash.digest('hex');
        if (actual !== sha256) {
          return err({ kind: 'digest-mismatch', expected: sha256, actual, sizeBytes });
        }
        await file.sync();
        await file.close();
        await rename(tmp, pathOf(sha256));
        kept = true;
        await syncDir(dir);
        return ok({ created: true, sizeBytes });
      } finally {
        if (!kept) {
          await file.close().catch(() => undefined);
          await unlink(tmp).catch(() => undefined);
        }
      }
    },

    read(sha256, range) {
      const stream = createReadStream(
        pathOf(sha256),
        range === undefined ? {} : { start: range.start, end: range.end },
      );
      return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
    },

    async delete(sha256) {
      try {
        await unlink(pathOf(sha256));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Makes a rename in `dir` durable (POSIX: the directory entry lives in the directory). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
