/**
 * Debian's stock cloud-init, unpacked (not installed) for tests that drive it against Ingot:
 * `apt-get download cloud-init` + `dpkg-deb -x` into `test/.cache/cloud-init/<version>/`, cached
 * by package version like `test/lab/initramfs.ts` caches its debs. Its Python dependencies are
 * Debian packages (scripts/debian-packages.txt); it runs under Debian's `/usr/bin/python3`.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
/** Cache root (gitignored: `test/.cache/`). */
export const CLOUD_INIT_CACHE = join(ROOT, 'test', '.cache', 'cloud-init');
/** The driver script (`seed`, `report`). */
export const CLOUD_INIT_CLIENT = join(import.meta.dirname, 'cloud-init-client.py');
/** Debian's interpreter, whose dist-packages hold cloud-init's dependencies. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** The candidate version apt would install. */
async function candidateVersion(): Promise<string> {
  const { stdout } = await run('apt-cache', ['policy', 'cloud-init']);
  const version = /Candidate: (\S+)/.exec(stdout)?.[1];
  if (version === undefined || version === '(none)')
    throw new Error('apt has no candidate for cloud-init: run apt-get update');
  return version;
}

/**
 * The `dist-packages` directory of the unpacked cloud-init (for `PYTHONPATH`), downloading and
 * unpacking it on first use. Throws when apt or dpkg-deb fail.
 */
export async function cloudInitDistPackages(): Promise<string> {
  const version = await candidateVersion();
  const dir = join(CLOUD_INIT_CACHE, version.replace(/[^A-Za-z0-9.+~-]/g, '_'));
  const dist = join(dir, 'usr', 'lib', 'python3', 'dist-packages');
  if (existsSync(join(dir, '.complete'))) return dist;
  mkdirSync(CLOUD_INIT_CACHE, { recursive: true });
  const work = mkdtempSync(join(CLOUD_INIT_CACHE, 'build-'));
  try {
    await run('apt-get', ['download', '-q', `cloud-init=${version}`], {
      cwd: work,
      timeout: 300_000,
    });
    const deb = readdirSync(work).find((f) => f.startsWith('cloud-init_') && f.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download cloud-init=${version} left no .deb`);
    const root = join(work, 'root');
    await run('dpkg-deb', ['-x', join(work, deb), root], { timeout: 120_000 });
    writeFileSync(join(root, '.complete'), `${version}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(root, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dist;
}

/** Runs the driver script under Debian's Python with cloud-init on the path; returns stdout. */
export async function runCloudInit(args: readonly string[]): Promise<string> {
  const dist = await cloudInitDistPackages();
  const { stdout } = await run(DEBIAN_PYTHON, [CLOUD_INIT_CLIENT, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONPATH: dist, LANG: 'C.UTF-8' },
    timeout: 60_000,
  });
  return stdout;
}
