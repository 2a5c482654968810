/**
 * Ingot's initramfs: static busybox, the kernel modules for disks, NICs and root filesystems, and
 * `initramfs/init` (DHCP → fetch `ingot.squashfs` → overlay → installer or switch_root; or mount
 * `root=` from disk → switch_root). Used by every image: the ephemeral environment, the Debian
 * image's in-memory deploys, and the tiny image's disk boots.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createCpioTree } from './cpio.ts';
import { resolveModules } from './kernel.ts';

const PACKAGE_DIR = join(import.meta.dirname, '..');

/**
 * Modules loaded at boot when the kernel has them as modules, in this order (dependencies are
 * added first). virtio for QEMU, AHCI/NVMe/e1000 for common hardware, squashfs + loop + overlay
 * for the network root, ext4 and vfat for installed roots and ESPs (crc32c: ext4's checksums).
 */
export const INITRAMFS_MODULES = [
  'virtio_pci',
  'virtio_net',
  'virtio_blk',
  'virtio_scsi',
  'sd_mod',
  'ahci',
  'nvme',
  'e1000',
  'e1000e',
  'loop',
  'squashfs',
  'overlay',
  'crc32c_generic',
  'crc32c_intel',
  'ext4',
  'vfat',
  'nls_cp437',
  'nls_ascii',
  'nls_utf8',
] as const;

/** Scripts baked into the initramfs (their bytes belong in cache keys). */
export function initramfsScripts(): Record<string, Buffer> {
  return {
    'initramfs/init': readFileSync(join(PACKAGE_DIR, 'initramfs', 'init')),
    'initramfs/udhcpc.script': readFileSync(join(PACKAGE_DIR, 'initramfs', 'udhcpc.script')),
    'initramfs/fetch.sh': readFileSync(join(PACKAGE_DIR, 'initramfs', 'fetch.sh')),
    'installer/lib/cloud-datasource.sh': readFileSync(
      join(PACKAGE_DIR, 'installer', 'lib', 'cloud-datasource.sh'),
    ),
  };
}

/** The initramfs image and what went into it. */
export interface BuiltInitramfs {
  /** gzip-compressed newc cpio. */
  readonly image: Buffer;
  /** Module paths (under `lib/modules/`) in load order. */
  readonly modules: readonly string[];
}

/**
 * Builds Ingot's initramfs for the kernel whose modules are in `moduleDir`.
 *
 * @param busybox a static busybox binary (Debian's `busybox-static`).
 * @throws when a script is missing.
 */
export function buildInitramfs(input: {
  readonly busybox: Buffer;
  readonly moduleDir: string;
}): BuiltInitramfs {
  const modules = resolveModules(input.moduleDir, INITRAMFS_MODULES);
  const scripts = initramfsScripts();
  const tree = createCpioTree();
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'run', 'newroot', 'lib/modules']) {
    tree.dir(d);
  }
  // The kernel opens /dev/console before running /init; devtmpfs is mounted later.
  tree.charDevice('dev/console', 5, 1);
  tree.file('bin/busybox', input.busybox, 0o755);
  tree.symlink('bin/sh', 'busybox');
  tree.file('init', scripts['initramfs/init']!, 0o755);
  tree.file('etc/udhcpc.script', scripts['initramfs/udhcpc.script']!, 0o755);
  tree.file('lib/ingot/cloud-datasource.sh', scripts['installer/lib/cloud-datasource.sh']!);
  tree.file('lib/ingot/fetch.sh', scripts['initramfs/fetch.sh']!);
  tree.file('etc/ingot-modules', Buffer.from(modules.map((m) => `${m}\n`).join('')));
  for (const m of modules) {
    tree.file(`lib/modules/${m}`, readFileSync(join(input.moduleDir, m)));
  }
  return { image: gzipSync(tree.encode(), { level: 9 }), modules };
}
