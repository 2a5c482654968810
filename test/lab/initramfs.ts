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
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
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
      const modules = resolveModules(kernel.moduleDir);
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

async function defaultKernelPackage(): Promise<string> {
  const { stdout } = await runCommand('apt-cache', ['depends', 'linux-image-amd64']);
  const match = /Depends: (linux-image-[0-9][^\s]*-amd64)\b/.exec(stdout);
  if (match?.[1] === undefined) {
    throw new Error('apt-cache knows no linux-image-amd64 dependency: run apt-get update');
  }
  return match[1];
}

async function candidateVersion(pkg: string): Promise<string> {
  const { stdout } = await runCommand('apt-cache', ['policy', pkg]);
  const version = /Candidate: (\S+)/.exec(stdout)?.[1];
  if (version === undefined || version === '(none)') {
    throw new Error(`apt has no candidate for ${pkg}: run apt-get update`);
  }
  return version;
}

async function downloadDeb(dir: string, pkg: string, version: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  // apt-get download names files <pkg>_<version with ':' → %3a>_<arch>.deb
  const find = (): string | undefined =>
    readdirSync(dir).find(
      (f) => f.startsWith(`${pkg}_${version.replace(':', '%3a')}_`) && f.endsWith('.deb'),
    );
  const cached = find();
  if (cached !== undefined) return join(dir, cached);
  await runCommand('apt-get', ['download', '-q', `${pkg}=${version}`], {
    cwd: dir,
    timeoutMs: 300_000,
  });
  const got = find();
  if (got === undefined) throw new Error(`apt-get download ${pkg}=${version} left no .deb`);
  return join(dir, got);
}

async function unpackKernel(
  deb: string,
  into: string,
): Promise<{ vmlinuz: string; moduleDir: string; release: string }> {
  await runCommand('dpkg-deb', ['-x', deb, into], { timeoutMs: 120_000 });
  const boot = readdirSync(join(into, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (boot === undefined) throw new Error(`${deb} holds no /boot/vmlinuz-*`);
  const release = boot.slice('vmlinuz-'.length);
  return {
    vmlinuz: join(into, 'boot', boot),
    moduleDir: join(into, 'lib', 'modules', release),
    release,
  };
}

/**
 * The wanted modules and their dependencies, dependencies first, as paths relative to the module
 * directory. Dependencies come from each .ko's `.modinfo` `depends=` string (no kmod needed);
 * modules the kernel has built in (`modules.builtin`) are skipped.
 */
function resolveModules(moduleDir: string): string[] {
  const byName = new Map<string, string>();
  for (const file of listFiles(join(moduleDir, 'kernel'))) {
    if (file.endsWith('.ko')) {
      const base = file.slice(file.lastIndexOf('/') + 1, -3).replaceAll('-', '_');
      byName.set(base, `kernel/${file}`);
    }
  }
  const ordered: string[] = [];
  const visit = (name: string, chain: readonly string[]): void => {
    const path = byName.get(name.replaceAll('-', '_'));
    if (path === undefined) return; // built in, or not in this kernel at all
    if (ordered.includes(path)) return;
    if (chain.includes(name)) throw new Error(`module dependency cycle: ${chain.join(' → ')}`);
    for (const dep of moduleDepends(readFileSync(join(moduleDir, path)))) {
      visit(dep, [...chain, name]);
    }
    ordered.push(path);
  };
  for (const name of WANTED_MODULES) visit(name, []);
  return ordered;
}

function moduleDepends(ko: Buffer): string[] {
  // .modinfo holds NUL-separated key=value strings; `depends=` lists module names, comma separated.
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const start = at + '\0depends='.length;
  const end = ko.indexOf(0, start);
  const value = ko.subarray(start, end).toString('latin1');
  return value === '' ? [] : value.split(',');
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** One entry of a newc cpio archive. */
interface CpioEntry {
  readonly path: string;
  /** Full st_mode, file type bits included. */
  readonly mode: number;
  readonly data?: Buffer;
  readonly rdevMajor?: number;
  readonly rdevMinor?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/**
 * The initramfs as an uncompressed newc cpio (the format the kernel unpacks; see the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst). Written here rather than with
 * `cpio` so that it needs no root for device nodes and is byte-for-byte reproducible.
 *
 * @internal exported for the harness's own checks.
 */
export function buildInitramfsCpio(input: {
  busybox: Buffer;
  init: Buffer;
  udhcpcScript: Buffer;
  modules: readonly { path: string; data: Buffer }[];
}): Buffer {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDir = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ path: d, mode: S_IFDIR | 0o755 });
      }
    }
  };
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'run', 'lib/modules']) addDir(d);
  // The kernel opens /dev/console before running /init; devtmpfs is mounted later.
  entries.push({ path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 });
  entries.push({ path: 'bin/busybox', mode: S_IFREG | 0o755, data: input.busybox });
  entries.push({ path: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') });
  entries.push({ path: 'init', mode: S_IFREG | 0o755, data: input.init });
  entries.push({ path: 'etc/udhcpc.script', mode: S_IFREG | 0o755, data: input.udhcpcScript });
  const list = input.modules.map((m) => m.path).join('\n');
  entries.push({
    path: 'etc/ingot-modules',
    mode: S_IFREG | 0o644,
    data: Buffer.from(list === '' ? '' : `${list}\n`),
  });
  for (const m of input.modules) {
    addDir(`lib/modules/${m.path.slice(0, m.path.lastIndexOf('/'))}`);
    entries.push({ path: `lib/modules/${m.path}`, mode: S_IFREG | 0o644, data: m.data });
  }
  entries.push({ path: 'TRAILER!!!', mode: 0 });

  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    chunks.push(b);
    offset += b.length;
  };
  const pad4 = (): void => {
    const n = (4 - (offset % 4)) % 4;
    if (n > 0) push(Buffer.alloc(n));
  };
  entries.forEach((e, index) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.path}\0`);
    const hex = (n: number): string => n.toString(16).padStart(8, '0');
    // newc header: magic + 13 eight-digit hex fields.
    const header =
      '070701' +
      hex(e.path === 'TRAILER!!!' ? 0 : index + 1) + // ino
      hex(e.mode) +
      hex(0) + // uid
      hex(0) + // gid
      hex((e.mode & S_IFDIR) === S_IFDIR ? 2 : 1) + // nlink
      hex(0) + // mtime
      hex(data.length) +
      hex(0) + // devmajor
      hex(0) + // devminor
      hex(e.rdevMajor ?? 0) +
      hex(e.rdevMinor ?? 0) +
      hex(name.length) +
      hex(0); // check
    push(Buffer.from(header, 'latin1'));
    push(name);
    pad4();
    push(data);
    pad4();
  });
  return Buffer.concat(chunks);
}
