/**
 * What every builder shares: the Debian kernel and static busybox (downloaded and unpacked, never
 * installed on the host), the installer's files, and the result type.
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '@ingot/lab/command.ts';
import { downloadDeb } from './apt.ts';
import { buildInitramfs } from './initramfs.ts';
import type { ImageManifest } from './manifest.ts';
import { unpackKernel, type UnpackedKernel } from './kernel.ts';

const PACKAGE_DIR = join(import.meta.dirname, '..');

/** Options every builder takes. */
export interface BuildOptions {
  /** The image cache (`INGOT_IMAGE_CACHE`, default `/var/cache/ingot/images`). */
  readonly cacheDir: string;
  readonly log?: (message: string) => void;
}

/** A built (or cached) image directory. */
export interface BuiltImage {
  readonly dir: string;
  readonly manifest: ImageManifest;
  /** False on a cache hit. */
  readonly built: boolean;
  /** Wall time of this call. */
  readonly elapsedMs: number;
}

/** Where downloaded .debs are kept across builds. */
export function debCacheDir(cacheDir: string): string {
  return join(cacheDir, 'debs');
}

/**
 * The installer's files by path relative to `packages/images/installer/` (`installer`,
 * `lib/report.sh` …), as they go into `/usr/lib/ingot/`.
 */
export function installerFiles(): Record<string, Buffer> {
  const dir = join(PACKAGE_DIR, 'installer');
  const out: Record<string, Buffer> = { installer: readFileSync(join(dir, 'installer')) };
  for (const f of readdirSync(join(dir, 'lib')).sort()) {
    if (f.endsWith('.sh')) out[`lib/${f}`] = readFileSync(join(dir, 'lib', f));
  }
  return out;
}

/** The tiny image's /sbin/init. */
export function tinyInit(): Buffer {
  return readFileSync(join(PACKAGE_DIR, 'tiny', 'init'));
}

/** The udhcpc hook shared by the initramfs and the tiny image. */
export function udhcpcScript(): Buffer {
  return readFileSync(join(PACKAGE_DIR, 'initramfs', 'udhcpc.script'));
}

/** Downloads and unpacks `busybox-static=version`; returns the binary. */
export async function fetchBusybox(
  cacheDir: string,
  version: string,
  workDir: string,
): Promise<Buffer> {
  const deb = await downloadDeb(debCacheDir(cacheDir), 'busybox-static', version);
  const into = join(workDir, 'busybox');
  await runCommand('dpkg-deb', ['-x', deb, into]);
  return readFileSync(join(into, 'bin', 'busybox'));
}

/** Downloads and unpacks kernel package `pkg=version` into `<workDir>/kernel`. */
export async function fetchKernel(
  cacheDir: string,
  pkg: string,
  version: string,
  workDir: string,
): Promise<UnpackedKernel> {
  const deb = await downloadDeb(debCacheDir(cacheDir), pkg, version);
  return unpackKernel(deb, join(workDir, 'kernel'));
}

/**
 * Writes an image's network-boot pair into `out`: `vmlinuz` (the kernel) and `initrd.img`
 * (Ingot's initramfs: `busybox` plus the kernel's modules). Returns the initramfs, which images
 * that boot from disk also keep in their root.
 */
export function writeBootFiles(
  out: string,
  busybox: Buffer,
  kernel: Pick<UnpackedKernel, 'vmlinuz' | 'moduleDir'>,
): Buffer {
  const initrd = buildInitramfs({ busybox, moduleDir: kernel.moduleDir }).image;
  copyFileSync(kernel.vmlinuz, join(out, 'vmlinuz'));
  writeFileSync(join(out, 'initrd.img'), initrd);
  return initrd;
}
