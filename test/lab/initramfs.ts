/**
 * Builds the busybox test environment the network boot lab boots: a Debian kernel (`vmlinuz`), a
 * busybox initramfs (`initrd.img`, newc cpio + gzip) whose `/init` is `initramfs/init`, and a tiny
 * ephemeral root squashfs from `test/fixtures/ephemeral-root/`.
 *
 * Nothing is installed into the host: the kernel and `busybox-static` packages are fetched with
 * `apt-get download` into `test/.cache/lab/debs/` and unpacked with `dpkg-deb` (busybox-static
 * conflicts with Debian's `busybox`, which other tools on the machine may need). The result is
 * cached under `test/.cache/lab/env-<key>/`, where the key is the sha256 of every input: package
 * names and versions, the init and udhcpc scripts, the module list, the fixture tree and this
 * builder's format version. Building from a warm apt cache takes ~10 s, a cache hit ~0.2 s.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { candidateVersion, defaultKernelPackage, downloadDeb } from '@ingot/images/apt.ts';
import { sha256File } from '@ingot/images/cache.ts';
import { createCpioTree } from '@ingot/images/cpio.ts';
import { listFiles, resolveModules, unpackKernel } from '@ingot/images/kernel.ts';
import { runCommand } from '@ingot/lab/command.ts';

const LAB_DIR = import.meta.dirname;
const REPO_ROOT = resolve(LAB_DIR, '..', '..');
/** Default cache root (gitignored: `test/.cache/`). */
export const LAB_CACHE_DIR = join(REPO_ROOT, 'test', '.cache', 'lab');
const FIXTURE_ROOT = join(REPO_ROOT, 'test', 'fixtures', 'ephemeral-root');
/** Bump when the output layout changes without any input changing. */
const FORMAT_VERSION = 1;

/** The console line the test environment prints once it fetched the squashfs and reported. */
export const TEST_ENV_MARKER = 'INGOT-TEST-ENV-UP';
/** The console line it prints when a step failed (followed by the reason). */
export const TEST_ENV_FAILED_MARKER = 'INGOT-TEST-ENV-FAILED';

/** Kernel modules loaded (with their dependencies) when the kernel has them as modules. */
const WANTED_MODULES = ['virtio_pci', 'virtio_net'] as const;

/** The built, cached test environment. */
export interface TestEnvironment {
  /** Directory holding the three files and `manifest.json`. */
  readonly dir: string;
  readonly kernelPath: string;
  readonly initrdPath: string;
  readonly squashfsPath: string;
  /** sha256 (hex) of `squashfsPath`, as the environment reports it in its event message. */
  readonly squashfsSha256: string;
  /** e.g. `6.1.0-56-amd64`. */
  readonly kernelRelease: string;
  /** Debian package and version the kernel came from. */
  readonly kernelPackage: string;
  /** Modules in the initramfs, in load order (paths under /lib/modules). */
  readonly modules: readonly string[];
  /** The cache key (sha256 hex of the inputs). */
  readonly cacheKey: string;
  /** True when this call built it, false on a cache hit. */
  readonly built: boolean;
}

/** Options of {@link buildTestEnvironment}. */
export interface BuildOptions {
  /** Cache root; default {@link LAB_CACHE_DIR}. */
  readonly cacheDir?: string;
  /** Kernel binary package; default: what `linux-image-amd64` depends on (env INGOT_LAB_KERNEL). */
  readonly kernelPackage?: string;
  /** Progress messages. */
  readonly log?: (message: string) => void;
}

/**
 * Returns the cached test environment for the current inputs, building it first if needed.
 * Safe to call from concurrent processes (each builds in a private directory and renames it).
 *
 * @throws when apt cannot resolve or download the packages, or a tool (`dpkg-deb`, `mksquashfs`)
 *   is missing; see `test/lab/debian-packages.txt`.
 */
export async function buildTestEnvironment(options: BuildOptions = {}): Promise<TestEnvironment> {
  const cacheDir = options.cacheDir ?? LAB_CACHE_DIR;
  const log = options.log ?? ((): void => undefined);
  const kernelPackage =
    options.kernelPackage ?? process.env['INGOT_LAB_KERNEL'] ?? (await defaultKernelPackage());
  const kernelVersion = await candidateVersion(kernelPackage);
  const busyboxVersion = await candidateVersion('busybox-static');
  const initScript = readFileSync(join(LAB_DIR, 'initramfs', 'init'));
  const udhcpcScript = readFileSync(join(LAB_DIR, 'initramfs', 'udhcpc.script'));
  const fixtureFiles = listFiles(FIXTURE_ROOT);

  const hash = createHash('sha256');
  hash.update(JSON.stringify({ FORMAT_VERSION, kernelPackage, kernelVersion, busyboxVersion }));
  hash.update(JSON.stringify(WANTED_MODULES));
  hash.update(initScript).update(udhcpcScript);
  for (const file of fixtureFiles) hash.update(file).update(readFileSync(join(FIXTURE_ROOT, file)));
  const cacheKey = hash.digest('hex');
  const dir = join(cacheDir, `env-${cacheKey.slice(0, 16)}`);

  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    log(`building test environment ${cacheKey.slice(0, 16)} (${kernelPackage} ${kernelVersion})`);
    mkdirSync(cacheDir, { recursive: true });
    const work = mkdtempSync(join(cacheDir, 'build-'));
    try {
      const debs = join(cacheDir, 'debs');
      const kernelDeb = await downloadDeb(debs, kernelPackage, kernelVersion);
      const busyboxDeb = await downloadDeb(debs, 'busybox-static', busyboxVersion);
      const out = join(work, 'out');
      mkdirSync(out);
      const kernel = await unpackKernel(kernelDeb, join(work, 'kernel'));
      writeFileSync(join(out, 'vmlinuz'), readFileSync(kernel.vmlinuz));
      const busyboxDir = join(work, 'busybox');
      await runCommand('dpkg-deb', ['-x', busyboxDeb, busyboxDir]);
      const modules = resolveModules(kernel.moduleDir, WANTED_MODULES);
      writeFileSync(
        join(out, 'initrd.img'),
        gzipSync(
          buildInitramfsCpio({
            busybox: readFileSync(join(busyboxDir, 'bin', 'busybox')),
            init: initScript,
            udhcpcScript,
            modules: modules.map((m) => ({
              path: m,
              data: readFileSync(join(kernel.moduleDir, m)),
            })),
          }),
          { level: 9 },
        ),
      );
      // Deterministic image: fixed times, root-owned, no xattrs.
      await runCommand('mksquashfs', [
        FIXTURE_ROOT,
        join(out, 'ephemeral.squashfs'),
        '-comp',
        'zstd',
        '-noappend',
        '-all-root',
        '-no-xattrs',
        '-mkfs-time',
        '0',
        '-all-time',
        '0',
        '-quiet',
      ]);
      const squashfsSha256 = sha256File(join(out, 'ephemeral.squashfs'));
      writeFileSync(
        join(out, 'manifest.json'),
        `${JSON.stringify(
          {
            cacheKey,
            kernelPackage: `${kernelPackage}=${kernelVersion}`,
            kernelRelease: kernel.release,
            busybox: `busybox-static=${busyboxVersion}`,
            modules,
            squashfsSha256,
          },
          null,
          2,
        )}\n`,
      );
      try {
        renameSync(out, dir);
      } catch (e) {
        // Another process finished the same build first: keep theirs.
        if (!existsSync(manifestPath)) throw e;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return { ...readManifest(dir), built: true };
  }
  return { ...readManifest(dir), built: false };
}

/**
 * The kernel command line that makes the test environment report to an agent.
 *
 * `initrd=initrd.img` lets the kernel's EFI stub find the initrd iPXE registered under that name
 * (UEFI); BIOS boots ignore it. `panic=1` (with QEMU's `-no-reboot`) ends a failed boot quickly.
 * The first console line, `Linux version …`, marks kernel start.
 */
export function testEnvironmentCommandLine(params: {
  agentUrl: string;
  machineId: string;
  squashfsUrl: string;
  extra?: readonly string[];
}): string {
  return [
    'initrd=initrd.img',
    'console=ttyS0,115200',
    // Boot console from the kernel's first instruction, so "kernel start" on the serial log is not
    // delayed until the real console registers.
    'earlycon=uart8250,io,0x3f8,115200',
    'loglevel=6',
    'panic=1',
    `ingot.url=${params.agentUrl}`,
    `ingot.machine=${params.machineId}`,
    `ingot.squashfs=${params.squashfsUrl}`,
    ...(params.extra ?? []),
  ].join(' ');
}

function readManifest(dir: string): Omit<TestEnvironment, 'built'> {
  const raw: unknown = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  if (typeof raw !== 'object' || raw === null) throw new Error(`bad manifest in ${dir}`);
  const m = raw as Record<string, unknown>;
  const str = (k: string): string => {
    const v = m[k];
    if (typeof v !== 'string') throw new Error(`manifest ${dir}: ${k} missing`);
    return v;
  };
  const modules = m['modules'];
  return {
    dir,
    kernelPath: join(dir, 'vmlinuz'),
    initrdPath: join(dir, 'initrd.img'),
    squashfsPath: join(dir, 'ephemeral.squashfs'),
    squashfsSha256: str('squashfsSha256'),
    kernelRelease: str('kernelRelease'),
    kernelPackage: str('kernelPackage'),
    modules: Array.isArray(modules) ? modules.filter((x) => typeof x === 'string') : [],
    cacheKey: str('cacheKey'),
  };
}

/**
 * The initramfs as an uncompressed newc cpio, written with `@ingot/images`' cpio writer (no root
 * needed for `/dev/console`, byte-for-byte reproducible).
 *
 * @internal exported for the harness's own checks.
 */
export function buildInitramfsCpio(input: {
  busybox: Buffer;
  init: Buffer;
  udhcpcScript: Buffer;
  modules: readonly { path: string; data: Buffer }[];
}): Buffer {
  const tree = createCpioTree();
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'run', 'lib/modules']) tree.dir(d);
  // The kernel opens /dev/console before running /init; devtmpfs is mounted later.
  tree.charDevice('dev/console', 5, 1);
  tree.file('bin/busybox', input.busybox, 0o755);
  tree.symlink('bin/sh', 'busybox');
  tree.file('init', input.init, 0o755);
  tree.file('etc/udhcpc.script', input.udhcpcScript, 0o755);
  const list = input.modules.map((m) => m.path).join('\n');
  tree.file('etc/ingot-modules', Buffer.from(list === '' ? '' : `${list}\n`));
  for (const m of input.modules) tree.file(`lib/modules/${m.path}`, m.data);
  return tree.encode();
}
