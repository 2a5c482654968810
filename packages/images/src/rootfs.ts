/**
 * Root filesystem trees from Debian packages: `debootstrap --variant=minbase`, then packages
 * installed with apt inside the tree (with /proc, /sys, /dev bound in, services kept from
 * starting), then packed with `mksquashfs -comp zstd`. Needs root (debootstrap, mount, chroot).
 *
 * Mounts are the one dangerous part: a failed build must never leave the host's /dev bound into
 * a directory that is about to be deleted. {@link unmountUnder} lazily unmounts everything below
 * a path, deepest first, and every build calls it before removing its scratch space.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCommand } from '@ingot/lab/command.ts';
import type { AptSources } from './apt.ts';

/** The Debian release every image is built from. */
export const SUITE = 'bookworm';

/** Options of {@link debootstrapRoot}. */
export interface RootfsOptions {
  /** The tree to create (must not exist or be empty). */
  readonly target: string;
  readonly sources: AptSources;
  /** Packages to install on top of minbase (`--no-install-recommends`). */
  readonly packages: readonly string[];
  /** Cache of downloaded .debs (debootstrap's and apt's), kept across builds. */
  readonly debCache: string;
  /**
   * Leave out documentation, man pages and translations (dpkg path-exclude for what apt installs,
   * removal for what debootstrap did): for environments nobody logs in to.
   */
  readonly slim?: boolean;
  /** Called after debootstrap, before the packages (apt config, kernel-img.conf …). */
  readonly prepare?: (root: string) => Promise<void> | void;
  /** Called after the packages, with /proc, /sys and /dev still bound (systemctl enable …). */
  readonly finish?: (
    root: string,
    chroot: (args: readonly string[]) => Promise<void>,
  ) => Promise<void>;
  readonly log: (message: string) => void;
}

/**
 * Builds a Debian root tree in `options.target`.
 *
 * @throws when debootstrap or apt fails; everything mounted below the target is unmounted first.
 */
export async function debootstrapRoot(options: RootfsOptions): Promise<void> {
  const root = options.target;
  const { mirror, security } = options.sources;
  const debootstrapCache = join(options.debCache, 'debootstrap');
  const aptCache = join(options.debCache, 'apt');
  mkdirSync(debootstrapCache, { recursive: true });
  mkdirSync(join(aptCache, 'partial'), { recursive: true });
  try {
    options.log(`debootstrap --variant=minbase ${SUITE} (${mirror})`);
    await runCommand(
      'debootstrap',
      ['--variant=minbase', `--cache-dir=${debootstrapCache}`, SUITE, root, mirror],
      { timeoutMs: 1_800_000 },
    );
    await unmountUnder(root);
    // debootstrap leaves its .debs in the tree (100+ MiB that would ship in the image): keep them
    // in the shared apt cache instead, where the next build's apt finds them.
    await runCommand('sh', [
      '-c',
      `mv -n "${root}"/var/cache/apt/archives/*.deb "${aptCache}"/ 2>/dev/null; rm -f "${root}"/var/cache/apt/archives/*.deb`,
    ]);
    if (options.slim === true) {
      mkdirSync(join(root, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
      writeFileSync(
        join(root, 'etc/dpkg/dpkg.cfg.d/90-ingot-slim'),
        [
          'path-exclude=/usr/share/doc/*',
          'path-include=/usr/share/doc/*/copyright',
          'path-exclude=/usr/share/man/*',
          'path-exclude=/usr/share/info/*',
          'path-exclude=/usr/share/locale/*',
          'path-include=/usr/share/locale/locale.alias',
          '',
        ].join('\n'),
      );
      await runCommand('sh', [
        '-c',
        `cd "${root}" && find usr/share/doc -type f ! -name copyright -delete; rm -rf usr/share/man/* usr/share/info/*; find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +`,
      ]);
    }
    writeFileSync(
      join(root, 'etc/apt/sources.list'),
      [
        `deb ${mirror} ${SUITE} main`,
        `deb ${mirror} ${SUITE}-updates main`,
        ...(security === undefined ? [] : [`deb ${security} ${SUITE}-security main`]),
        '',
      ].join('\n'),
    );
    // Keep maintainer scripts from starting services inside the build.
    writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    await options.prepare?.(root);
    await bindApi(root, aptCache);
    const chroot = async (args: readonly string[]): Promise<void> => {
      await runCommand('chroot', [root, ...args], { timeoutMs: 1_800_000 });
    };
    options.log('apt-get update && upgrade');
    await chroot(['apt-get', 'update', '-q']);
    await chroot(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'dist-upgrade', '-y', '-q']);
    options.log(`apt-get install ${options.packages.join(' ')}`);
    await chroot([
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      ...options.packages,
    ]);
    await options.finish?.(root, chroot);
  } finally {
    await unmountUnder(root);
  }
  // What must not ship: the host's resolver, the build's apt lists and service block, machine
  // identity (systemd makes a new machine-id; cloud-init new SSH host keys).
  rmSync(join(root, 'usr/sbin/policy-rc.d'), { force: true });
  rmSync(join(root, 'etc/resolv.conf'), { force: true });
  writeFileSync(join(root, 'etc/resolv.conf'), '');
  rmSync(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  mkdirSync(join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  if (existsSync(join(root, 'etc/machine-id'))) writeFileSync(join(root, 'etc/machine-id'), '');
  rmSync(join(root, 'var/lib/dbus/machine-id'), { force: true });
  await runCommand('sh', ['-c', `rm -f "${root}"/etc/ssh/ssh_host_*`]);
}

async function bindApi(root: string, aptCache: string): Promise<void> {
  await runCommand('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
  await runCommand('mount', ['-t', 'sysfs', 'sysfs', join(root, 'sys')]);
  await runCommand('mount', ['--bind', '/dev', join(root, 'dev')]);
  await runCommand('mount', ['-t', 'devpts', '-o', 'newinstance', 'devpts', join(root, 'dev/pts')]);
  // Downloaded .debs outlive the build, so a rebuild fetches only what changed.
  await runCommand('mount', ['--bind', aptCache, join(root, 'var/cache/apt/archives')]);
  writeFileSync(join(root, 'etc/resolv.conf'), readFileSync('/etc/resolv.conf'));
}

/**
 * Unmounts every mount point at or below `dir`, deepest first (lazily when busy).
 *
 * @throws when something below `dir` is still mounted afterwards.
 */
export async function unmountUnder(dir: string): Promise<void> {
  const base = resolve(dir);
  const under = (): string[] =>
    readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      // /proc/mounts escapes spaces and such as octal (\040).
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((p) => p === base || p.startsWith(`${base}/`))
      .sort((a, b) => b.length - a.length);
  for (let attempt = 0; attempt < 5; attempt++) {
    const points = under();
    if (points.length === 0) return;
    for (const p of points) {
      const r = await runCommand('umount', [p], { allowFailure: true });
      if (r.code !== 0) await runCommand('umount', ['-l', p], { allowFailure: true });
    }
  }
  const left = under();
  if (left.length > 0) throw new Error(`still mounted below ${base}: ${left.join(', ')}`);
}

/**
 * Packs `root` into a zstd squashfs at `out`: root-owned when `allRoot` (trees built without root
 * privileges), fixed timestamps so equal trees give equal images.
 */
export async function makeSquashfs(
  root: string,
  out: string,
  options: { readonly allRoot?: boolean } = {},
): Promise<void> {
  await runCommand(
    'mksquashfs',
    [
      root,
      out,
      '-comp',
      'zstd',
      '-noappend',
      '-no-progress',
      '-quiet',
      '-mkfs-time',
      '0',
      ...(options.allRoot === true ? ['-all-root', '-all-time', '0'] : []),
    ],
    { timeoutMs: 1_800_000 },
  );
}

/**
 * Appends the top-level entries of `dir` (root-owned) to the existing squashfs `image`: only the
 * new files are compressed. An entry whose name the image already has would be renamed by
 * mksquashfs, so `dir` must hold new top-level names only.
 */
export async function appendToSquashfs(dir: string, image: string): Promise<void> {
  await runCommand('mksquashfs', [dir, image, '-no-progress', '-quiet', '-all-root'], {
    timeoutMs: 600_000,
  });
}
