/**
 * The rack's image cache (DESIGN.md §6): image files fetched by sha256 from the controller, kept
 * as `<imageDir>/<sha256>` only after their checksum and size were verified, evicted least
 * recently used first to stay within a byte budget. Downloads resume (`.partial/<sha256>`),
 * retry with backoff, and are shared by everyone waiting for the same file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, type Clock, type Logger, type Result } from '@ingot/common';
import { backoffDelayMs, realSleep, type BackoffPolicy, type Sleep } from '../backoff.ts';
import { downloadAttempt, partialSize } from './download.ts';

const SHA256 = /^[0-9a-f]{64}$/;

/** A verified file in the cache. */
export interface CachedImage {
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly lastUsedMs: number;
}

/** What the cache holds, for the controller (proto `CacheInventory`). */
export interface CacheInventory {
  readonly files: readonly CachedImage[];
  readonly capacityBytes: number;
}

/** Why {@link ImageCache.ensure} could not produce a file. */
export interface CacheError {
  readonly kind: 'unavailable' | 'invalid';
  readonly sha256: string;
  readonly message: string;
}

/** What the cache needs. */
export interface ImageCacheDeps {
  readonly imageDir: string;
  /** Total bytes of verified files to keep; files that boot plans use are kept beyond it. */
  readonly capacityBytes: number;
  /**
   * The controller's HTTP base URL; files come from `/api/v1/images/files/<sha256>`. A function
   * is asked again on every attempt, so retries follow the agent to another controller.
   */
  readonly controllerHttpUrl: string | (() => string);
  /** `Authorization` header for the controller (`Rack <id>:<secret>`). */
  readonly authorization?: string | undefined;
  /** Files current boot plans use, by sha256 with their size: never evicted, fetched on a miss. */
  readonly pinned: () => ReadonlyMap<string, number>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Attempts per download (first try included); default 5. */
  readonly maxAttempts?: number | undefined;
  /** Delay between attempts; default 500 ms doubling to 10 s. */
  readonly backoff?: BackoffPolicy | undefined;
  /** A transfer with no bytes for this long is retried; default 60 s. */
  readonly idleTimeoutMs?: number | undefined;
  readonly fetch?: typeof fetch | undefined;
  readonly sleep?: Sleep | undefined;
  /** Told after the set of cached files changed (for inventory reports). */
  readonly onChange?: (() => void) | undefined;
  /** Ends downloads and retries (the agent's lifetime). */
  readonly signal?: AbortSignal | undefined;
}

/** The cache. */
export interface ImageCache {
  /**
   * Re-verifies every file already in the directory (sha256 and name), removing corrupted ones.
   * Other calls wait for it. Resolves to the sha256s removed.
   */
  start(): Promise<string[]>;
  /**
   * The verified path of `sha256`, fetching it first when missing. Concurrent calls for one file
   * share one download. Never rejects; failures after the retries come back as errors.
   */
  ensure(sha256: string, sizeBytes: number): Promise<Result<string, CacheError>>;
  /** The verified path of a cached file (and marks it used), or `undefined`. */
  lookup(sha256: string): Promise<string | undefined>;
  /** The size a boot plan gives `sha256`, when one uses it. */
  pinnedSize(sha256: string): number | undefined;
  inventory(): CacheInventory;
  /** Resolves when running downloads have ended (after the signal aborted). */
  idle(): Promise<void>;
}

/** Creates the cache over `deps.imageDir`. Nothing touches the disk before {@link ImageCache.start}. */
export function createImageCache(deps: ImageCacheDeps): ImageCache {
  const entries = new Map<string, { sizeBytes: number; lastUsedMs: number }>();
  const inflight = new Map<string, Promise<Result<string, CacheError>>>();
  const partialDir = join(deps.imageDir, '.partial');
  const fetchImpl = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? realSleep;
  const maxAttempts = deps.maxAttempts ?? 5;
  const backoff = deps.backoff ?? { initialMs: 500, maxMs: 10_000 };
  const log = deps.logger.child({ component: 'image-cache' });
  let started: Promise<string[]> | undefined;

  const usedBytes = (): number => [...entries.values()].reduce((n, e) => n + e.sizeBytes, 0);

  /** Drops least recently used, unpinned files until `reserve` more bytes fit. */
  const evict = async (reserve: number, keep: string | undefined): Promise<void> => {
    const pinned = deps.pinned();
    const candidates = [...entries.entries()]
      .filter(([sha]) => sha !== keep && !pinned.has(sha))
      .sort((a, b) => a[1].lastUsedMs - b[1].lastUsedMs);
    let removed = false;
    for (const [sha, entry] of candidates) {
      if (usedBytes() + reserve <= deps.capacityBytes) break;
      entries.delete(sha);
      removed = true;
      await unlink(join(deps.imageDir, sha)).catch(() => undefined);
      log.info('evicted an image file', { sha256: sha, sizeBytes: entry.sizeBytes });
    }
    if (usedBytes() + reserve > deps.capacityBytes) {
      log.warn('image cache over its size limit: the rest is in use by boot plans', {
        usedBytes: usedBytes(),
        capacityBytes: deps.capacityBytes,
      });
    }
    if (removed) deps.onChange?.();
  };

  const verifyFile = async (path: string, sha256: string, sizeBytes?: number): Promise<boolean> => {
    try {
      const info = await lstat(path);
      if (!info.isFile() || (sizeBytes !== undefined && info.size !== sizeBytes)) return false;
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      return hash.digest('hex') === sha256;
    } catch {
      return false;
    }
  };

  const scan = (): Promise<string[]> =>
    verifyCached().catch((error: unknown) => {
      // Downloads will fail too and say why; serving nothing is the safe side.
      log.error('could not read the image cache directory', { imageDir: deps.imageDir, error });
      return [];
    });

  const verifyCached = async (): Promise<string[]> => {
    await mkdir(partialDir, { recursive: true, mode: 0o700 });
    const removed: string[] = [];
    for (const name of await readdir(deps.imageDir)) {
      if (!SHA256.test(name)) continue;
      const path = join(deps.imageDir, name);
      const info = await lstat(path);
      if (await verifyFile(path, name)) {
        entries.set(name, { sizeBytes: info.size, lastUsedMs: Math.trunc(info.mtimeMs) });
      } else {
        // Corrupted, truncated, or not a plain file (a planted symlink): never served.
        await unlink(path).catch(() => undefined);
        removed.push(name);
        log.warn('removed a cached image file that failed verification', { sha256: name });
      }
    }
    if (entries.size > 0 || removed.length > 0) deps.onChange?.();
    await evict(0, undefined);
    return removed;
  };

  const touch = (sha256: string): void => {
    const entry = entries.get(sha256);
    if (entry === undefined) return;
    const now = deps.clock.now();
    entry.lastUsedMs = now;
    // Kept in the file's mtime too, so the LRU order survives a restart; best effort.
    const seconds = now / 1000;
    utimes(join(deps.imageDir, sha256), seconds, seconds).catch(() => undefined);
  };

  const download = async (
    sha256: string,
    sizeBytes: number,
  ): Promise<Result<string, CacheError>> => {
    const partial = join(partialDir, sha256);
    const base = (): string =>
      typeof deps.controllerHttpUrl === 'string'
        ? deps.controllerHttpUrl
        : deps.controllerHttpUrl();
    await evict(Math.max(0, sizeBytes - (await partialSize(partial))), undefined);
    let lastReason = '';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (deps.signal?.aborted === true) break;
      const outcome = await downloadAttempt({
        url: new URL(`/api/v1/images/files/${sha256}`, base()).toString(),
        sha256,
        sizeBytes,
        partialPath: partial,
        authorization: deps.authorization,
        fetch: fetchImpl,
        signal: deps.signal,
        idleTimeoutMs: deps.idleTimeoutMs ?? 60_000,
      });
      if (outcome.kind === 'fatal') {
        lastReason = outcome.reason;
        break;
      }
      if (outcome.kind === 'complete') {
        if (await verifyFile(partial, sha256, sizeBytes)) {
          const path = join(deps.imageDir, sha256);
          await rename(partial, path);
          await syncDir(deps.imageDir);
          entries.set(sha256, { sizeBytes, lastUsedMs: deps.clock.now() });
          log.info('cached an image file', { sha256, sizeBytes, attempts: attempt + 1 });
          await evict(0, sha256);
          deps.onChange?.();
          return ok(path);
        }
        // Bytes that do not hash to their name are thrown away whole, never served.
        await unlink(partial).catch(() => undefined);
        lastReason = 'the downloaded bytes failed sha256 verification';
        log.warn('discarded a download that failed verification', { sha256, attempt });
      } else {
        lastReason = outcome.reason;
        log.warn('image download interrupted; will resume', {
          sha256,
          attempt,
          receivedBytes: outcome.receivedBytes,
          reason: outcome.reason,
        });
      }
      if (attempt + 1 < maxAttempts) await sleep(backoffDelayMs(attempt, backoff), deps.signal);
    }
    return err({
      kind: 'unavailable',
      sha256,
      message: `could not fetch image file ${sha256} from ${base()}: ${lastReason}`,
    });
  };

  const ensure = async (sha256: string, sizeBytes: number): Promise<Result<string, CacheError>> => {
    if (!SHA256.test(sha256) || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
      return err({ kind: 'invalid', sha256, message: 'not a sha256 and size' });
    }
    await (started ??= scan());
    const path = await lookup(sha256);
    if (path !== undefined) return ok(path);
    const running = inflight.get(sha256);
    if (running !== undefined) return running;
    const promise = download(sha256, sizeBytes)
      .catch((error: unknown) =>
        err<CacheError>({
          kind: 'unavailable',
          sha256,
          message: error instanceof Error ? error.message : String(error),
        }),
      )
      .finally(() => inflight.delete(sha256));
    inflight.set(sha256, promise);
    return promise;
  };

  const lookup = async (sha256: string): Promise<string | undefined> => {
    await (started ??= scan());
    if (!entries.has(sha256)) return undefined;
    touch(sha256);
    return join(deps.imageDir, sha256);
  };

  return {
    start: () => (started ??= scan()),
    ensure,
    lookup,
    pinnedSize: (sha256) => deps.pinned().get(sha256),
    inventory: () => ({
      files: [...entries.entries()].map(([sha256, e]) => ({ sha256, ...e })),
      capacityBytes: deps.capacityBytes,
    }),
    async idle() {
      await Promise.allSettled([...inflight.values()]);
    },
  };
}

/** Makes a rename durable (the directory entry lives in the directory). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
