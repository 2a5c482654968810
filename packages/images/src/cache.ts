/**
 * The image cache: each build's output lives in `<cacheDir>/<name>-<first 16 hex of key>/`,
 * where the key is the sha256 of everything the build reads (package names and versions, scripts,
 * the builder's format version). A directory holding `manifest.json` (or the build's own marker
 * file) is complete: builds write
 * into a private temporary directory and rename it into place, so concurrent builders (two CI
 * jobs on one machine) never see each other's half-written output; the loser keeps the winner's.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unmountUnder } from './rootfs.ts';

/** Default cache directory; `INGOT_IMAGE_CACHE` overrides it (read by `main.ts`). */
export const DEFAULT_IMAGE_CACHE = '/var/cache/ingot/images';

/** What a build reads, hashed into its cache key. */
export interface CacheInputs {
  /** Builder name and format version: bump the version when output changes without inputs. */
  readonly builder: string;
  readonly formatVersion: number;
  /** Package name → version (`apt-cache policy` candidate). Order does not matter. */
  readonly packages: Readonly<Record<string, string>>;
  /** Files (scripts, configs) by name → contents. Order does not matter. */
  readonly files: Readonly<Record<string, Uint8Array | string>>;
  /** Any other setting that changes the output (mirror, suite …), JSON-serialisable. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

/** The sha256 (hex) of `inputs`, independent of key order. */
export function cacheKey(inputs: CacheInputs): string {
  const hash = createHash('sha256');
  const sorted = <T>(record: Readonly<Record<string, T>>): [string, T][] =>
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  hash.update(JSON.stringify({ builder: inputs.builder, formatVersion: inputs.formatVersion }));
  hash.update(JSON.stringify(sorted(inputs.packages)));
  hash.update(JSON.stringify(sorted(inputs.settings ?? {})));
  for (const [name, data] of sorted(inputs.files)) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // Length-prefixed so that moving bytes between two files changes the key.
    hash.update(`${name}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/** The output directory of image `name` (`ingot/tiny/amd64`) for `key`. */
export function cachedImageDir(cacheDir: string, name: string, key: string): string {
  return join(cacheDir, `${name.replaceAll('/', '-')}-${key.slice(0, 16)}`);
}

/** Options of {@link buildCached}. */
export interface BuildCachedOptions {
  readonly cacheDir: string;
  readonly name: string;
  readonly key: string;
  /**
   * Writes the image into `outDir` (exists, empty) and must finish with `manifest.json`. `workDir`
   * is private scratch space, removed afterwards.
   */
  readonly build: (outDir: string, workDir: string) => Promise<void>;
  /** The file whose presence marks a complete directory. Default `manifest.json`. */
  readonly marker?: string;
}

/**
 * Returns the cached output directory for `key`, building it first when missing.
 *
 * @returns `built` false on a cache hit.
 * @throws what `build` throws (its scratch space is removed), or when it wrote no manifest.
 */
export async function buildCached(
  options: BuildCachedOptions,
): Promise<{ dir: string; built: boolean }> {
  const dir = cachedImageDir(options.cacheDir, options.name, options.key);
  const marker = options.marker ?? 'manifest.json';
  if (existsSync(join(dir, marker))) return { dir, built: false };
  mkdirSync(options.cacheDir, { recursive: true });
  const temp = mkdtempSync(join(options.cacheDir, `.build-${options.name.replaceAll('/', '-')}-`));
  try {
    const out = join(temp, 'out');
    const work = join(temp, 'work');
    mkdirSync(out);
    mkdirSync(work);
    await options.build(out, work);
    if (!existsSync(join(out, marker))) {
      throw new Error(`builder of ${options.name} wrote no ${marker}`);
    }
    try {
      renameSync(out, dir);
    } catch (e) {
      // Another builder finished the same key first (rename onto a non-empty dir fails): keep it.
      if (!existsSync(join(dir, marker))) throw e;
      return { dir, built: false };
    }
    return { dir, built: true };
  } finally {
    // Never delete through a mount a failed build left behind (a bound /dev, /proc …).
    await unmountUnder(temp);
    rmSync(temp, { recursive: true, force: true });
  }
}

/** sha256 (hex) of a file. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
