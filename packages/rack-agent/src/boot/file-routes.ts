/**
 * Boot routes backed by files on disk: network boot programs from Debian packages, and
 * content-addressed image files from the image cache directory.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { err, ok } from '@ingot/common';
import { IMAGES_PREFIX } from './boot-config.ts';
import type { BootFileRoute } from './boot-route.ts';
import type { BootStep } from './boot-events.ts';

/**
 * Where Debian's packages put network boot programs: `ipxe` (undionly.kpxe, ipxe.efi,
 * snponly.efi), `pxelinux` and `syslinux-common` (pxelinux.0, lpxelinux.0, ldlinux.c32 …).
 * Searched in order; missing directories are skipped.
 */
export const DEFAULT_LOADER_DIRS: readonly string[] = [
  '/usr/lib/ipxe',
  '/usr/lib/PXELINUX',
  '/usr/lib/syslinux/modules/bios',
];

/**
 * Loaders served under another name than Debian's: UEFI Secure Boot chain as MAAS serves it,
 * `bootx64.efi` = shim (`shim-signed`), which loads `grubx64.efi` = signed network GRUB
 * (`grub-efi-amd64-signed`) from the same server.
 */
export const DEFAULT_LOADER_ALIASES: Readonly<Record<string, string>> = {
  'bootx64.efi': '/usr/lib/shim/shimx64.efi.signed',
  'grubx64.efi': '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed',
};

const LOADER_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;

const ROLE_STEPS: Readonly<Record<string, BootStep>> = {
  kernel: 'boot.kernel',
  initrd: 'boot.initrd',
  squashfs: 'boot.squashfs',
  'root-image': 'boot.squashfs',
};

/**
 * Serves single-segment names (`undionly.kpxe`) from `aliases`, then from the first of `dirs`
 * holding a regular file by that name. Symlinks are followed (Debian links its loaders); the
 * name cannot leave a directory because it is one checked segment. Step `boot.nbp`.
 */
export function createLoaderRoute(
  dirs: readonly string[],
  aliases: Readonly<Record<string, string>>,
): BootFileRoute {
  return {
    name: 'loader',
    async tryResolve(request) {
      const [name, ...rest] = request.path.segments;
      if (name === undefined || rest.length > 0 || !LOADER_NAME.test(name)) return undefined;
      const candidates = [
        ...(Object.hasOwn(aliases, name) ? [aliases[name] ?? ''] : []),
        ...dirs.map((dir) => join(dir, name)),
      ];
      for (const candidate of candidates) {
        const file = await regularFile(candidate);
        if (file === undefined) continue;
        return ok({
          content: { kind: 'file', path: file.path },
          sizeBytes: file.sizeBytes,
          contentType: contentTypeOf(name),
          machineId: request.plan()?.machineId,
          step: 'boot.nbp',
        });
      }
      return undefined;
    },
  };
}

/**
 * Where verified image files come from: the rack's image cache (`cache/image-cache.ts`). Only
 * files it has checked are served; a file a boot plan uses is fetched on a miss.
 */
export interface ImageFileSource {
  /** The verified path of a cached file, or `undefined`. */
  lookup(sha256: string): Promise<string | undefined>;
  /** The size a boot plan gives this file, when one uses it (worth fetching on a miss). */
  pinnedSize(sha256: string): number | undefined;
  /** Fetches and verifies a file; resolves to its path, or an error after bounded retries. */
  ensure(
    sha256: string,
    sizeBytes: number,
  ): Promise<{ ok: true; value: string } | { ok: false; error: { message: string } }>;
}

/**
 * Serves `images/<sha256>`. With `source` (the agent), only files the image cache verified are
 * served, and a miss for a file the requesting machine's plan (or any plan) uses is fetched from
 * the controller first, so a machine neither waits forever nor gets unchecked bytes. Without it
 * (tests of the chain), files are read from `imageDir` as they are: the file's real path must
 * lie inside the directory's real path, so a planted symlink pointing elsewhere is `forbidden`.
 * The step comes from the role the hash has in the requesting machine's plan.
 */
export function createImageRoute(imageDir: string, source?: ImageFileSource): BootFileRoute {
  const cachedFile = async (
    sha256: string,
    wantedBytes: number | undefined,
  ): Promise<string | undefined> => {
    if (source === undefined) return undefined;
    const hit = await source.lookup(sha256);
    if (hit !== undefined) return hit;
    const size = wantedBytes ?? source.pinnedSize(sha256);
    if (size === undefined) return undefined;
    const fetched = await source.ensure(sha256, size);
    return fetched.ok ? fetched.value : undefined;
  };
  return {
    name: 'image',
    async tryResolve(request) {
      const [prefix, hash, ...rest] = request.path.segments;
      if (prefix !== IMAGES_PREFIX) return undefined;
      const sha256 = hash?.toLowerCase();
      if (sha256 === undefined || rest.length > 0 || !SHA256.test(sha256)) {
        return err({ kind: 'not-found', path: request.path.path });
      }
      const plan = request.plan();
      const planned = plan?.files.find((f) => f.sha256 === sha256);
      let file: { readonly path: string; readonly sizeBytes: number } | undefined;
      if (source !== undefined) {
        const path = await cachedFile(sha256, planned?.sizeBytes);
        file = path === undefined ? undefined : await regularFile(path);
      } else {
        let root: string;
        try {
          root = await realpath(imageDir);
        } catch {
          return err({ kind: 'not-found', path: request.path.path });
        }
        file = await regularFile(join(root, sha256));
        if (file !== undefined && !file.path.startsWith(root + sep)) {
          return err({
            kind: 'forbidden',
            path: request.path.path,
            reason: 'image file resolves outside the image directory',
          });
        }
      }
      if (file === undefined) return err({ kind: 'not-found', path: request.path.path });
      const role = planned?.role;
      return ok({
        content: { kind: 'file', path: file.path },
        sizeBytes: file.sizeBytes,
        contentType: 'application/octet-stream',
        machineId: plan?.machineId,
        step: role === undefined ? undefined : ROLE_STEPS[role],
      });
    },
  };
}

/** The real path and size of a regular file, or `undefined` when missing or not a file. */
async function regularFile(
  path: string,
): Promise<{ readonly path: string; readonly sizeBytes: number } | undefined> {
  try {
    const real = await realpath(path);
    const info = await stat(real);
    return info.isFile() ? { path: real, sizeBytes: info.size } : undefined;
  } catch {
    return undefined;
  }
}

function contentTypeOf(name: string): string {
  if (name.endsWith('.iso')) return 'application/x-iso9660-image';
  if (name.endsWith('.ipxe') || name.endsWith('.cfg')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}
