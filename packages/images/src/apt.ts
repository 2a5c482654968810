/**
 * Debian packages as build inputs: candidate versions from `apt-cache policy` (they go into cache
 * keys), `.deb` downloads that never install anything on the host (`apt-get download`), and the
 * mirror the host's apt uses (for debootstrap).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '@ingot/lab/command.ts';

/** The mirror used when the host's sources name none. */
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/**
 * The candidate version of `pkg` on this host.
 *
 * @throws when apt knows no candidate (run `apt-get update`).
 */
export async function candidateVersion(pkg: string): Promise<string> {
  const { stdout } = await runCommand('apt-cache', ['policy', pkg]);
  const version = /Candidate: (\S+)/.exec(stdout)?.[1];
  if (version === undefined || version === '(none)') {
    throw new Error(`apt has no candidate for ${pkg}: run apt-get update`);
  }
  return version;
}

/** Candidate versions of `pkgs`, as a name → version record (one `apt-cache policy` call). */
export async function candidateVersions(pkgs: readonly string[]): Promise<Record<string, string>> {
  const { stdout } = await runCommand('apt-cache', ['policy', ...pkgs]);
  const out: Record<string, string> = {};
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head?.[1] !== undefined) current = head[1];
    const cand = /^\s+Candidate: (\S+)/.exec(line);
    if (cand?.[1] !== undefined && current !== undefined) out[current] = cand[1];
  }
  for (const p of pkgs) {
    const v = out[p];
    if (v === undefined || v === '(none)') {
      throw new Error(`apt has no candidate for ${p}: run apt-get update`);
    }
  }
  return out;
}

/**
 * The kernel binary package `linux-image-amd64` depends on (`linux-image-6.1.0-56-amd64`).
 *
 * @throws when apt does not know linux-image-amd64.
 */
export async function defaultKernelPackage(): Promise<string> {
  const { stdout } = await runCommand('apt-cache', ['depends', 'linux-image-amd64']);
  const match = /Depends: (linux-image-[0-9][^\s]*-amd64)\b/.exec(stdout);
  if (match?.[1] === undefined) {
    throw new Error('apt-cache knows no linux-image-amd64 dependency: run apt-get update');
  }
  return match[1];
}

/**
 * `pkg=version`'s .deb in `dir`, downloaded with `apt-get download` unless already there.
 *
 * @throws when the download fails.
 */
export async function downloadDeb(dir: string, pkg: string, version: string): Promise<string> {
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
    timeoutMs: 600_000,
  });
  const got = find();
  if (got === undefined) throw new Error(`apt-get download ${pkg}=${version} left no .deb`);
  return join(dir, got);
}

/** The host's apt sources: mirror URIs by suite, from deb822 `.sources` and `sources.list`. */
export interface AptSources {
  /** The main archive (`…/debian`), for debootstrap. */
  readonly mirror: string;
  /** The security archive (`…/debian-security`), when the host uses one. */
  readonly security: string | undefined;
}

/** Reads the host's apt sources (`/etc/apt/sources.list`, `/etc/apt/sources.list.d/*`). */
export function hostAptSources(root = '/etc/apt'): AptSources {
  const uris: string[] = [];
  const list = join(root, 'sources.list');
  if (existsSync(list)) {
    for (const line of readFileSync(list, 'utf8').split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      if (m?.[1] !== undefined) uris.push(m[1]);
    }
  }
  const dir = join(root, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, f), 'utf8');
      if (f.endsWith('.sources')) {
        for (const stanza of text.split(/\n\s*\n/)) {
          if (/^Enabled:\s*no/im.test(stanza) || !/^Types:.*\bdeb\b/im.test(stanza)) continue;
          const m = /^URIs:\s*(.+)$/im.exec(stanza);
          if (m?.[1] !== undefined) uris.push(...m[1].trim().split(/\s+/));
        }
      } else if (f.endsWith('.list')) {
        for (const line of text.split('\n')) {
          const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
          if (m?.[1] !== undefined) uris.push(m[1]);
        }
      }
    }
  }
  const clean = uris.map((u) => u.replace(/\/+$/, ''));
  return {
    mirror: clean.find((u) => /\/debian$/.test(u)) ?? DEFAULT_MIRROR,
    security: clean.find((u) => /\/debian-security$/.test(u)),
  };
}
