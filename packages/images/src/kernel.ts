/**
 * Debian's kernel as an image part: the `vmlinuz` and the modules an initramfs needs, with their
 * dependencies read from each `.ko`'s `.modinfo` (no kmod on the host needed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runCommand } from '@ingot/lab/command.ts';

/** An unpacked kernel package. */
export interface UnpackedKernel {
  readonly vmlinuz: string;
  /** `<root>/lib/modules/<release>`. */
  readonly moduleDir: string;
  /** e.g. `6.1.0-56-amd64`. */
  readonly release: string;
}

/**
 * Unpacks a kernel `.deb` into `into` with `dpkg-deb -x` (nothing touches the host's /boot).
 *
 * @throws when the package holds no `/boot/vmlinuz-*`.
 */
export async function unpackKernel(deb: string, into: string): Promise<UnpackedKernel> {
  await runCommand('dpkg-deb', ['-x', deb, into], { timeoutMs: 300_000 });
  return findKernel(into);
}

/**
 * The kernel installed in root tree `root` (the newest `/boot/vmlinuz-*`).
 *
 * @throws when there is none.
 */
export function findKernel(root: string): UnpackedKernel {
  const boot = readdirSync(join(root, 'boot'))
    .filter((f) => f.startsWith('vmlinuz-'))
    .sort()
    .at(-1);
  if (boot === undefined) throw new Error(`${root} holds no /boot/vmlinuz-*`);
  const release = boot.slice('vmlinuz-'.length);
  return {
    vmlinuz: join(root, 'boot', boot),
    moduleDir: join(root, 'lib', 'modules', release),
    release,
  };
}

/**
 * The wanted modules and their dependencies, dependencies first, as paths relative to the module
 * directory. Modules the kernel has built in, or does not have, are skipped.
 *
 * @throws on a dependency cycle.
 */
export function resolveModules(moduleDir: string, wanted: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const file of listFiles(join(moduleDir, 'kernel'))) {
    const m = /([^/]+)\.ko(\.xz|\.zst)?$/.exec(file);
    if (m?.[1] !== undefined && m[2] === undefined) {
      byName.set(m[1].replaceAll('-', '_'), `kernel/${file}`);
    }
  }
  const ordered: string[] = [];
  const visit = (name: string, chain: readonly string[]): void => {
    const path = byName.get(name.replaceAll('-', '_'));
    if (path === undefined) return;
    if (ordered.includes(path)) return;
    if (chain.includes(name)) throw new Error(`module dependency cycle: ${chain.join(' → ')}`);
    for (const dep of moduleDepends(readFileSync(join(moduleDir, path)))) {
      visit(dep, [...chain, name]);
    }
    ordered.push(path);
  };
  for (const name of wanted) visit(name, []);
  return ordered;
}

/** A module's `depends=` from its `.modinfo` (NUL-separated `key=value` strings). */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const start = at + '\0depends='.length;
  const end = ko.indexOf(0, start);
  const value = ko.subarray(start, end).toString('latin1');
  return value === '' ? [] : value.split(',');
}

/** Files under `root`, relative, sorted. */
export function listFiles(root: string): string[] {
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
