/**
 * What the files of an image directory are (`ingot images import`): from its `manifest.json`
 * (written by `pnpm images:build`), else from their names, as MAAS names boot resource files:
 *
 * | name | role | format |
 * |---|---|---|
 * | `vmlinuz*`, `vmlinux*`, `bzImage`, `kernel`, `linux` | kernel | |
 * | `initrd*`, `initramfs*` | initrd | |
 * | `ephemeral*.squashfs`, `squashfs` | squashfs (the ephemeral root) | squashfs |
 * | other `*.squashfs` / `*.sqfs` | root-image | squashfs |
 * | `*.tar`, `*.tgz`, `*.tar.gz|xz|zst|bz2` | root-image (custom image) | tar |
 * | `*.img`, `*.raw`, `*.dd` (also `.gz|.xz|.zst`) | root-image (custom raw disk image) | raw |
 * | `root/` (a directory) | root-image, built with `mksquashfs` | squashfs |
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './args.ts';

/** A file to upload and register. */
export interface ImageFile {
  readonly path: string;
  readonly name: string;
  readonly role: 'kernel' | 'initrd' | 'squashfs' | 'root-image';
  readonly format?: 'squashfs' | 'tar' | 'raw' | undefined;
}

/** The parts of `manifest.json` import uses. */
export interface ManifestDefaults {
  readonly os?: string | undefined;
  readonly release?: string | undefined;
  readonly arch?: string | undefined;
  readonly kernel_params?: string | undefined;
}

/** What a directory holds. */
export interface ClassifiedDir {
  readonly files: readonly ImageFile[];
  /** A `root/` tree to turn into a squashfs, when the directory has no root image file. */
  readonly rootTree?: string | undefined;
  readonly manifest?: ManifestDefaults | undefined;
}

const ROLES = ['kernel', 'initrd', 'squashfs', 'root-image'] as const;
const FORMATS = ['squashfs', 'tar', 'raw'] as const;

/** The role and format a file name stands for, or `undefined` for files import ignores. */
export function classifyName(name: string): Omit<ImageFile, 'path' | 'name'> | undefined {
  const n = name.toLowerCase();
  if (/^(vmlinu[zx].*|bzimage|kernel|linux)$/.test(n)) return { role: 'kernel' };
  if (/^(initrd|initramfs).*/.test(n)) return { role: 'initrd' };
  if (n === 'squashfs' || /^ephemeral.*\.(squashfs|sqfs)$/.test(n))
    return { role: 'squashfs', format: 'squashfs' };
  if (/\.(squashfs|sqfs)$/.test(n)) return { role: 'root-image', format: 'squashfs' };
  if (/\.(tar|tgz|tar\.(gz|xz|zst|bz2))$/.test(n)) return { role: 'root-image', format: 'tar' };
  if (/\.(img|raw|dd)(\.(gz|xz|zst))?$/.test(n)) return { role: 'root-image', format: 'raw' };
  return undefined;
}

/**
 * Classifies `dir`. Throws a {@link UsageError} naming the files when the directory is
 * ambiguous (two kernels, two root images) or a manifest entry is missing.
 */
export async function classifyImageDir(dir: string): Promise<ClassifiedDir> {
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) return fromManifest(dir, await readFile(manifestPath, 'utf8'));
  const files: ImageFile[] = [];
  let rootTree: string | undefined;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name === 'root') rootTree = path;
      continue;
    }
    const kind = classifyName(name);
    if (kind !== undefined) files.push({ path, name, ...kind });
  }
  for (const role of ROLES) {
    const same = files.filter((f) => f.role === role);
    if (same.length > 1) {
      throw new UsageError(
        `${dir} has more than one ${role} file (${same.map((f) => f.name).join(', ')}); keep one`,
      );
    }
  }
  if (rootTree !== undefined && files.some((f) => f.role === 'root-image')) {
    throw new UsageError(`${dir} has both a root/ tree and a root image file; keep one`);
  }
  return { files, rootTree };
}

function fromManifest(dir: string, text: string): ClassifiedDir {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${dir}/manifest.json is not JSON: ${(e as Error).message}`);
  }
  const m = parsed as ManifestDefaults & { files?: unknown };
  if (!Array.isArray(m.files)) throw new UsageError(`${dir}/manifest.json has no files list`);
  const files = (m.files as unknown[]).map((entry): ImageFile => {
    const f = entry as { name?: unknown; role?: unknown; format?: unknown };
    const name = typeof f.name === 'string' ? f.name : '';
    const role = ROLES.find((r) => r === f.role);
    const format = FORMATS.find((x) => x === f.format);
    if (name === '' || name.includes('/') || role === undefined) {
      throw new UsageError(`${dir}/manifest.json: bad file entry ${JSON.stringify(entry)}`);
    }
    const path = join(dir, name);
    if (!existsSync(path))
      throw new UsageError(`${dir}/manifest.json lists ${name}, which is missing`);
    return { path, name, role, format };
  });
  return {
    files,
    manifest: { os: m.os, release: m.release, arch: m.arch, kernel_params: m.kernel_params },
  };
}
