/**
 * `debian/bookworm/amd64`: the install image. A debootstrapped Debian 12 with its kernel,
 * initramfs-tools (virtio modules), GRUB's BIOS and UEFI binaries, OpenSSH, cloud-init, systemd
 * with systemd-networkd doing DHCP on every Ethernet NIC, and a serial console on ttyS0. Its root
 * is a zstd squashfs (role `root-image`, format `squashfs`) the installer unsquashes onto disk;
 * its kernel with Ingot's initramfs are the image's own files, so the same image deploys in
 * memory (the squashfs under a tmpfs overlay).
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { candidateVersions, defaultKernelPackage, hostAptSources } from './apt.ts';
import { buildCached, cacheKey } from './cache.ts';
import { initramfsScripts } from './initramfs.ts';
import { findKernel } from './kernel.ts';
import { describeFile, readManifestFile, writeManifest } from './manifest.ts';
import {
  debCacheDir,
  fetchBusybox,
  writeBootFiles,
  type BuildOptions,
  type BuiltImage,
} from './parts.ts';
import { debootstrapRoot, makeSquashfs, SUITE } from './rootfs.ts';

const FORMAT_VERSION = 2;

/** Packages on top of minbase. */
export const DEBIAN_PACKAGES = [
  'linux-image-amd64',
  'initramfs-tools',
  'udev',
  'kmod',
  'systemd-sysv',
  'systemd-resolved',
  'dbus',
  'openssh-server',
  'cloud-init',
  'sudo',
  'grub-pc-bin',
  'grub-efi-amd64-bin',
  'grub2-common',
  'ca-certificates',
  'curl',
  'iproute2',
  'netbase',
  'less',
] as const;

/** Build-time files of the image (their text is part of the cache key). */
const CONFIG_FILES = {
  // /boot/vmlinuz and /boot/initrd.img links, which the installer's grub.cfg names.
  'etc/kernel-img.conf': 'do_symlinks = yes\nlink_in_boot = yes\n',
  'etc/initramfs-tools/modules':
    '# Ingot: disks and NICs of virtual machines\nvirtio_pci\nvirtio_blk\nvirtio_scsi\nvirtio_net\next4\n',
  'etc/systemd/network/80-ingot-dhcp.network':
    '# Ingot: DHCP on every Ethernet NIC\n[Match]\nType=ether\nName=!veth*\n\n[Network]\nDHCP=yes\n',
  // systemd-networkd owns the network; cloud-init only reads its datasource.
  'etc/cloud/cloud.cfg.d/80_ingot_network.cfg': 'network:\n  config: disabled\n',
  'etc/hostname': 'debian\n',
} as const;

/**
 * Returns the cached Debian image, building it (~5–10 min, root) when its inputs changed.
 *
 * @throws when apt, debootstrap or mksquashfs fail.
 */
export async function buildDebianImage(options: BuildOptions): Promise<BuiltImage> {
  const started = Date.now();
  const log = options.log ?? ((): void => undefined);
  const kernelPackage = await defaultKernelPackage();
  const packages = await candidateVersions([kernelPackage, 'busybox-static', ...DEBIAN_PACKAGES]);
  const sources = hostAptSources();
  const key = cacheKey({
    builder: 'debian/bookworm/amd64',
    formatVersion: FORMAT_VERSION,
    packages,
    files: { ...initramfsScripts(), ...CONFIG_FILES },
    settings: { suite: SUITE, mirror: sources.mirror, security: sources.security ?? '' },
  });
  const { dir, built } = await buildCached({
    cacheDir: options.cacheDir,
    name: 'debian/bookworm/amd64',
    key,
    build: async (out, work) => {
      log(`debian/bookworm/amd64: building ${key.slice(0, 16)}`);
      const root = join(work, 'root');
      await debootstrapRoot({
        target: root,
        sources,
        packages: DEBIAN_PACKAGES,
        debCache: debCacheDir(options.cacheDir),
        log,
        prepare: (tree) => {
          for (const [path, text] of Object.entries(CONFIG_FILES)) {
            mkdirSync(join(tree, path, '..'), { recursive: true });
            writeFileSync(join(tree, path), text);
          }
        },
        finish: async (_tree, chroot) => {
          await chroot(['systemctl', 'enable', 'systemd-networkd', 'systemd-resolved']);
          await chroot(['systemctl', 'enable', 'serial-getty@ttyS0.service']);
        },
      });
      // systemd-resolved's stub, as its package sets it up (the build emptied resolv.conf).
      rmSync(join(root, 'etc/resolv.conf'), { force: true });
      symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
      const kernel = findKernel(root);
      const busybox = await fetchBusybox(options.cacheDir, packages['busybox-static']!, work);
      writeBootFiles(out, busybox, kernel);
      log('mksquashfs (zstd)');
      await makeSquashfs(root, join(out, 'root.squashfs'));
      writeManifest(out, {
        format_version: 1,
        name: 'debian/bookworm/amd64',
        os: 'debian',
        release: 'bookworm',
        arch: 'amd64',
        kernel_params: 'console=tty0 console=ttyS0,115200',
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
