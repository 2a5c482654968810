/**
 * A MAAS client we did not write: test/maas-client is a small Go driver around Juju's own MAAS
 * library, gomaasapi (Debian's golang-github-juju-gomaasapi-dev, built in GOPATH mode with
 * Debian's Go). This module builds it once per source hash into a cache directory and runs it
 * with a MAAS API key; the program prints one JSON line per step, which come back parsed.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runIngot } from './lab-power.ts';

const SOURCE_DIR = resolve(import.meta.dirname, '..', 'maas-client');
/** Debian's Go source tree, where golang-github-juju-*-dev install their packages. */
const DEBIAN_GOCODE = '/usr/share/gocode';
const DEFAULT_CACHE = '/var/cache/ingot/maas-client';

/** One line the client printed: a step that succeeded, or the step that failed. */
export interface MaasStep {
  readonly step: string;
  readonly ok: boolean;
  /** On failure: gomaasapi's error class (`no-match`, `permission`, `deserialization`, …). */
  readonly kind?: string;
  readonly error?: string;
  readonly http_status?: number;
  readonly [field: string]: unknown;
}

/** A machine as gomaasapi parsed it (test/maas-client/summary.go). */
export interface MaasMachine {
  readonly system_id: string;
  readonly hostname: string;
  readonly fqdn: string;
  readonly status_name: string;
  readonly status_message: string;
  readonly power_state: string;
  readonly architecture: string;
  readonly cpu_count: number;
  readonly memory: number;
  readonly osystem: string;
  readonly distro_series: string;
  readonly tag_names: string[];
  readonly ip_addresses: string[];
  readonly owner_data: Record<string, string>;
  readonly zone?: string;
  readonly pool?: string;
  readonly interfaces: { id: number; name: string; mac_address: string }[];
  readonly block_devices: { id: number; name: string; size: number }[];
  readonly constraints_by_type?: {
    storage: Record<string, number[]>;
    interfaces: Record<string, number[]>;
  };
}

/** What one run printed and how it ended. */
export interface MaasRun {
  readonly code: number | null;
  readonly steps: MaasStep[];
  readonly stderr: string;
  /** The step with this name (the last one if repeated); throws if the client never printed it. */
  step(name: string): MaasStep;
  /** The failure line, if the run failed. */
  readonly failure: MaasStep | undefined;
}

function cacheRoot(): string {
  const wanted = process.env['INGOT_MAAS_CLIENT_CACHE'] ?? DEFAULT_CACHE;
  try {
    mkdirSync(wanted, { recursive: true });
    accessSync(wanted, constants.W_OK);
    return wanted;
  } catch {
    const fallback = join(tmpdir(), 'ingot-maas-client-cache');
    mkdirSync(fallback, { recursive: true });
    return fallback;
  }
}

/** sha256 over the program's sources and the Go toolchain version (the cache key). */
function sourceHash(goVersion: string): string {
  const hash = createHash('sha256').update(goVersion);
  for (const name of readdirSync(SOURCE_DIR)
    .filter((n) => n.endsWith('.go'))
    .sort()) {
    hash.update(`\0${name}\0`).update(readFileSync(join(SOURCE_DIR, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds test/maas-client (or finds it built) and returns the binary's path. Fails with the
 * Debian packages to install when Go or gomaasapi is missing.
 */
export async function buildMaasClient(log?: (m: string) => void): Promise<string> {
  if (!existsSync(join(DEBIAN_GOCODE, 'src/github.com/juju/gomaasapi'))) {
    throw new Error(
      'gomaasapi is missing: apt-get install golang-go golang-github-juju-gomaasapi-dev',
    );
  }
  const run = promisify(execFile);
  const goVersion = await run('go', ['version'], { timeout: 30_000 }).then(
    (r) => r.stdout.trim(),
    (e: unknown) => {
      throw new Error('Go is missing: apt-get install golang-go', { cause: e });
    },
  );
  const root = cacheRoot();
  const dir = join(root, sourceHash(goVersion));
  const binary = join(dir, 'maas-client');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const t0 = Date.now();
  // GOPATH mode over Debian's packaged sources: no module download, no network.
  const gopath = join(root, 'gopath');
  mkdirSync(gopath, { recursive: true });
  try {
    // Default flags on purpose: Debian ships the standard library precompiled for them, so a
    // cold build compiles only gomaasapi and its few dependencies (-trimpath or CGO_ENABLED=0
    // would rebuild the whole standard library: minutes instead of seconds).
    await run('go', ['build', '-o', partial, '.'], {
      cwd: SOURCE_DIR,
      timeout: 300_000,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${gopath}:${DEBIAN_GOCODE}`,
        GOCACHE: join(root, 'go-build'),
        GOFLAGS: '',
        GOPROXY: 'off',
      },
    });
  } catch (e) {
    rmSync(partial, { force: true });
    const stderr = (e as { stderr?: unknown }).stderr;
    throw new Error(`go build of test/maas-client failed:\n${String(stderr ?? e)}`, { cause: e });
  }
  renameSync(partial, binary);
  log?.(`maas-client built in ${((Date.now() - t0) / 1000).toFixed(1)} s (${binary})`);
  return binary;
}

function parseLine(line: string): MaasStep {
  const value: unknown = JSON.parse(line);
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { step?: unknown }).step !== 'string' ||
    typeof (value as { ok?: unknown }).ok !== 'boolean'
  ) {
    throw new Error(`maas-client printed a line that is not a step: ${line}`);
  }
  return value as MaasStep;
}

/**
 * Runs `maas-client -url <controller>/MAAS/ <args>` with `MAAS_API_KEY=key`, bounded by
 * `timeoutMs` (then SIGKILL by PID). `onStep` sees each line as it is printed.
 */
export async function runMaasClient(
  binary: string,
  options: {
    url: string;
    key: string;
    args: readonly string[];
    timeoutMs?: number;
    onStep?: (step: MaasStep) => void;
    trace?: boolean;
  },
): Promise<MaasRun> {
  const child = spawn(
    binary,
    [
      '-url',
      `${options.url}/MAAS/`,
      ...(options.trace === true ? ['-trace'] : []),
      ...options.args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAAS_API_KEY: options.key } },
  );
  const steps: MaasStep[] = [];
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    pending += d.toString();
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line === '') continue;
      const step = parseLine(line);
      steps.push(step);
      try {
        options.onStep?.(step);
      } catch (e) {
        // A reporting bug must not crash the run from inside a stream handler.
        stderr += `onStep(${step.step}) threw: ${String(e)}\n`;
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((r) => {
    child.once('error', (e) => {
      stderr += String(e);
      r(null);
    });
    child.once('close', (c) => r(c));
  });
  clearTimeout(timer);
  if (pending.trim() !== '') steps.push(parseLine(pending.trim()));
  const failure = steps.find((s) => !s.ok);
  return {
    code,
    steps,
    stderr,
    failure,
    step(name: string): MaasStep {
      const found = [...steps].reverse().find((s) => s.step === name);
      if (found === undefined) {
        throw new Error(
          `maas-client printed no "${name}" step (exit ${String(code)}): ${
            failure?.error ?? stderr.trim()
          }\n${steps.map((s) => JSON.stringify(s)).join('\n')}`,
        );
      }
      return found;
    },
  };
}

/** Whether a step carries a whole machine (allocate, read, deploy, wait …). */
export function isMachineStep(step: MaasStep): boolean {
  return (
    typeof step['system_id'] === 'string' &&
    typeof step['status_name'] === 'string' &&
    Array.isArray(step['tag_names']) &&
    Array.isArray(step['interfaces']) &&
    Array.isArray(step['block_devices'])
  );
}

/** A step's fields as the machine gomaasapi parsed; throws when the step carries none. */
export function asMachine(step: MaasStep): MaasMachine {
  if (!isMachineStep(step)) {
    throw new Error(`step ${step.step} carries no machine: ${JSON.stringify(step)}`);
  }
  return step as unknown as MaasMachine;
}

/**
 * The MAAS form of a user's API key, as the user gets it: `ingot users api-key --maas`, run with
 * that user's Ingot key. Returns `consumer_key:token_key:token_secret`.
 */
export async function maasApiKey(url: string, ingotKey: string): Promise<string> {
  const r = await runIngot(
    ['users', 'api-key', '--maas'],
    { INGOT_URL: url, INGOT_API_KEY: ingotKey },
    60_000,
  );
  const key = /^\s*([^\s:]+:[^\s:]+:[^\s:]+)\s*$/m.exec(r.output)?.[1];
  if (r.code !== 0 || key === undefined) {
    throw new Error(`ingot users api-key --maas exited ${String(r.code)}:\n${r.output}`);
  }
  return key;
}
