/**
 * `ingot/ephemeral/amd64`: the environment commissioning, installs and erases boot. Debian 12's
 * kernel, Ingot's initramfs, and a debootstrapped root squashfs with the disk tools the installer
 * uses and the installer itself in `/usr/lib/ingot/`.
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { candidateVersions, defaultKernelPackage, hostAptSources } from './apt.ts';
import { buildCached, cacheKey } from './cache.ts';
import { initramfsScripts } from './initramfs.ts';
import { describeFile, readManifestFile, writeManifest, type ImageManifest } from './manifest.ts';
import {
  debCacheDir,
  fetchBusybox,
  fetchKernel,
  installerFiles,
  writeBootFiles,
  type BuildOptions,
  type BuiltImage,
} from './parts.ts';
import { appendToSquashfs, debootstrapRoot, makeSquashfs, SUITE } from './rootfs.ts';

/** Bump when the output changes without any input changing. */
const FORMAT_VERSION = 3;

/** Packages on top of minbase: what the installer runs (jq parses the install config). */
export const EPHEMERAL_PACKAGES = [
  'util-linux',
  'fdisk',
  'gdisk',
  'e2fsprogs',
  'dosfstools',
  'grub-pc-bin',
  'grub-efi-amd64-bin',
  'grub2-common',
  'squashfs-tools',
  'curl',
  'xz-utils',
  'zstd',
  'kmod',
  'ca-certificates',
  'jq',
] as const;

/** Kernel parameters every boot of the ephemeral environment gets. */
export const EPHEMERAL_KERNEL_PARAMS = 'console=tty0 console=ttyS0,115200';

/**
 * Returns the cached ephemeral environment, building it when its inputs changed.
 *
 * Two cache levels: the debootstrapped root squashfs (~3.5 min, root; keyed by packages) and the
 * image (seconds; keyed by that plus the initramfs and installer scripts). The installer lives
 * in `/ingot` and `/usr/lib/ingot` links there, so a changed installer is appended to a copy of
 * the base squashfs (`mksquashfs` appends new top-level entries without recompressing the rest)
 * instead of rebuilding the root.
 *
 * @throws when apt, debootstrap or mksquashfs fail.
 */
export async function buildEphemeralImage(options: BuildOptions): Promise<BuiltImage> {
  const started = Date.now();
  const log = options.log ?? ((): void => undefined);
  const kernelPackage = await defaultKernelPackage();
  const packages = await candidateVersions([
    kernelPackage,
    'busybox-static',
    ...EPHEMERAL_PACKAGES,
  ]);
  const sources = hostAptSources();
  const settings = { suite: SUITE, mirror: sources.mirror, security: sources.security ?? '' };
  const rootPackages = Object.fromEntries(
    EPHEMERAL_PACKAGES.map((p) => [p, packages[p]!] as const),
  );
  const baseKey = cacheKey({
    builder: 'ingot/ephemeral-base/amd64',
    formatVersion: FORMAT_VERSION,
    packages: rootPackages,
    files: {},
    settings,
  });
  const base = await buildCached({
    cacheDir: options.cacheDir,
    name: 'ingot/ephemeral-base/amd64',
    key: baseKey,
    marker: 'base.squashfs',
    build: async (out, work) => {
      log(`ingot/ephemeral-base/amd64: building ${baseKey.slice(0, 16)}`);
      const root = join(work, 'root');
      await debootstrapRoot({
        target: root,
        sources,
        packages: EPHEMERAL_PACKAGES,
        debCache: debCacheDir(options.cacheDir),
        slim: true,
        log,
        finish: (tree) => {
          writeFileSync(join(tree, 'etc/hostname'), 'ingot-ephemeral\n');
          // Relative, so it resolves from the initramfs (/newroot/…) as well as inside the root.
          symlinkSync('../../ingot', join(tree, 'usr/lib/ingot'));
          return Promise.resolve();
        },
      });
      log('mksquashfs (zstd)');
      await makeSquashfs(root, join(out, 'base.squashfs'));
    },
  });

  const installer = installerFiles();
  const files: Record<string, Buffer> = { ...initramfsScripts() };
  for (const [name, data] of Object.entries(installer)) files[`installer/${name}`] = data;
  const key = cacheKey({
    builder: 'ingot/ephemeral/amd64',
    formatVersion: FORMAT_VERSION,
    packages,
    files,
    settings: { ...settings, base: baseKey },
  });
  const { dir, built } = await buildCached({
    cacheDir: options.cacheDir,
    name: 'ingot/ephemeral/amd64',
    key,
    build: async (out, work) => {
      log(`ingot/ephemeral/amd64: building ${key.slice(0, 16)} (${kernelPackage})`);
      const kernel = await fetchKernel(
        options.cacheDir,
        kernelPackage,
        packages[kernelPackage]!,
        work,
      );
      const busybox = await fetchBusybox(options.cacheDir, packages['busybox-static']!, work);
      writeBootFiles(out, busybox, kernel);
      const add = join(work, 'add');
      for (const [name, data] of Object.entries(installer)) {
        const path = join(add, 'ingot', name);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, data);
        chmodSync(path, name === 'installer' ? 0o755 : 0o644);
      }
      copyFileSync(join(base.dir, 'base.squashfs'), join(out, 'ephemeral.squashfs'));
      await appendToSquashfs(add, join(out, 'ephemeral.squashfs'));
      const manifest: ImageManifest = {
        format_version: 1,
        name: 'ingot/ephemeral/amd64',
        os: 'ingot',
        release: 'ephemeral',
        arch: 'amd64',
        kernel_params: EPHEMERAL_KERNEL_PARAMS,
        files: [
          describeFile(out, 'vmlinuz', 'kernel'),
          describeFile(out, 'initrd.img', 'initrd'),
          describeFile(out, 'ephemeral.squashfs', 'squashfs', 'squashfs'),
        ],
        cache_key: key,
        kernel_release: kernel.release,
        packages,
      };
      writeManifest(out, manifest);
    },
  });
  return { dir, manifest: readManifestFile(dir), built, elapsedMs: Date.now() - started };
}
