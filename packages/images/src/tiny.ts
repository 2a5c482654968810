/**
 * `ingot/tiny/amd64`: a busybox install image for fast tests. Its root (a zstd squashfs, role
 * `root-image`) holds static busybox with every applet linked, `/sbin/init` from `tiny/init` (a
 * stand-in for cloud-init: datasource config → meta-data, user-data, a reporting event), and
 * `/boot/vmlinuz` + `/boot/initrd.img`: Debian's kernel and Ingot's initramfs, which mounts
 * `root=UUID=…` and switch_roots. The same kernel and initrd are the image's own files, so it
 * can also be deployed in memory. About 12 MiB, mostly the kernel.
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCommand } from '@ingot/lab/command.ts';
import { candidateVersions, defaultKernelPackage } from './apt.ts';
import { buildCached, cacheKey } from './cache.ts';
import { initramfsScripts } from './initramfs.ts';
import { describeFile, readManifestFile, writeManifest } from './manifest.ts';
import {
  fetchBusybox,
  fetchKernel,
  tinyInit,
  udhcpcScript,
  writeBootFiles,
  type BuildOptions,
  type BuiltImage,
} from './parts.ts';
import { makeSquashfs } from './rootfs.ts';

const FORMAT_VERSION = 1;

/** The console line the tiny init prints once user-data ran and it reported. */
export const TINY_UP_MARKER = 'INGOT-TINY-UP';

/**
 * Returns the cached tiny image, building it (~15 s, no root needed) when its inputs changed.
 *
 * @throws when apt or mksquashfs fail.
 */
export async function buildTinyImage(options: BuildOptions): Promise<BuiltImage> {
  const started = Date.now();
  const log = options.log ?? ((): void => undefined);
  const kernelPackage = await defaultKernelPackage();
  const packages = await candidateVersions([kernelPackage, 'busybox-static']);
  const key = cacheKey({
    builder: 'ingot/tiny/amd64',
    formatVersion: FORMAT_VERSION,
    packages,
    files: { ...initramfsScripts(), 'tiny/init': tinyInit() },
  });
  const { dir, built } = await buildCached({
    cacheDir: options.cacheDir,
    name: 'ingot/tiny/amd64',
    key,
    build: async (out, work) => {
      log(`ingot/tiny/amd64: building ${key.slice(0, 16)} (${kernelPackage})`);
      const kernel = await fetchKernel(
        options.cacheDir,
        kernelPackage,
        packages[kernelPackage]!,
        work,
      );
      const busybox = await fetchBusybox(options.cacheDir, packages['busybox-static']!, work);
      const initrd = writeBootFiles(out, busybox, kernel);

      const root = join(work, 'root');
      for (const d of [
        'bin',
        'sbin',
        'usr/bin',
        'usr/sbin',
        'etc/cloud/cloud.cfg.d',
        'proc',
        'sys',
      ]) {
        mkdirSync(join(root, d), { recursive: true });
      }
      for (const d of ['dev', 'tmp', 'run', 'root', 'mnt', 'var/log', 'boot', 'lib/ingot']) {
        mkdirSync(join(root, d), { recursive: true });
      }
      chmodSync(join(root, 'tmp'), 0o1777);
      writeFileSync(join(root, 'bin/busybox'), busybox, { mode: 0o755 });
      const { stdout } = await runCommand(join(root, 'bin/busybox'), ['--list-full']);
      for (const applet of stdout.split('\n').filter((l) => l !== '' && l !== 'bin/busybox')) {
        mkdirSync(dirname(join(root, applet)), { recursive: true });
        symlinkSync('/bin/busybox', join(root, applet));
      }
      const file = (path: string, data: Buffer | string, mode = 0o644): void => {
        const full = join(root, path);
        writeFileSync(full, data);
        chmodSync(full, mode);
      };
      writeFileSync(join(root, 'sbin/init.tmp'), tinyInit());
      await runCommand('mv', ['-f', join(root, 'sbin/init.tmp'), join(root, 'sbin/init')]);
      chmodSync(join(root, 'sbin/init'), 0o755);
      file('etc/udhcpc.script', udhcpcScript(), 0o755);
      file(
        'lib/ingot/cloud-datasource.sh',
        initramfsScripts()['installer/lib/cloud-datasource.sh']!,
      );
      file('etc/hostname', 'ingot-tiny\n');
      file('etc/hosts', '127.0.0.1 localhost\n');
      file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
      file('etc/group', 'root:x:0:\n');
      file('etc/fstab', '');
      copyFileSync(kernel.vmlinuz, join(root, 'boot/vmlinuz'));
      writeFileSync(join(root, 'boot/initrd.img'), initrd);
      await makeSquashfs(root, join(out, 'root.squashfs'), { allRoot: true });
      writeManifest(out, {
        format_version: 1,
        name: 'ingot/tiny/amd64',
        os: 'ingot',
        release: 'tiny',
        arch: 'amd64',
        kernel_params: 'console=ttyS0,115200',
        files: [
          describeFile(out, 'vmlinuz', 'kernel'),
          describeFile(out, 'initrd.img', 'initrd'),
          describeFile(out, 'root.squashfs', 'root-image', 'squashfs'),
        ],
        cache_key: key,
        kernel_release: kernel.release,
        packages,
      });
    },
  });
  return { dir, manifest: readManifestFile(dir), built, elapsedMs: Date.now() - started };
}
