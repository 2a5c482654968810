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
 * Serves `images/<sha256>` from `imageDir` (the image cache). The file's real path must lie
 * inside the directory's real path: a symlink planted in the cache that points elsewhere is
 * `forbidden`. The step comes from the role the hash has in the requesting machine's plan.
 */
export function createImageRoute(imageDir: string): BootFileRoute {
  return {
    name: 'image',
    async tryResolve(request) {
      const [prefix, hash, ...rest] = request.path.segments;
      if (prefix !== IMAGES_PREFIX) return undefined;
      const sha256 = hash?.toLowerCase();
      if (sha256 === undefined || rest.length > 0 || !SHA256.test(sha256)) {
        return err({ kind: 'not-found', path: request.path.path });
      }
      let root: string;
      try {
        root = await realpath(imageDir);
      } catch {
        return err({ kind: 'not-found', path: request.path.path });
      }
      const file = await regularFile(join(root, sha256));
      if (file === undefined) return err({ kind: 'not-found', path: request.path.path });
      if (!file.path.startsWith(root + sep)) {
        return err({
          kind: 'forbidden',
          path: request.path.path,
          reason: 'image file resolves outside the image directory',
        });
      }
      const plan = request.plan();
      const role = plan?.files.find((f) => f.sha256 === sha256)?.role;
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
