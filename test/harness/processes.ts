/**
 * Starts the controller and the rack agent as real processes through the `ingot` CLI (the
 * controller as its production bundle), on loopback ports, and stops them by PID. Every test gets
 * its own data directories.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildBundle } from '@ingot/cli/bundles';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

import { freePort } from '@ingot/common';

export { freePort };

/** A temporary directory removed by `cleanup`. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `ingot-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A process started by a test. */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal to this process only. */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a child process: `spawn` itself, or `ip netns exec` around it (see test/harness/cluster.ts). */
export type Spawner = (cmd: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

let controllerBundle: Promise<string> | undefined;

/**
 * Node's arguments for `ingot <args>`: `ingot controller …` runs as it ships, the controller's
 * bundle (built once per test process from the tree, `packages/cli/src/bundles.ts`); every other
 * command runs from source through tsx.
 */
async function nodeArgs(args: readonly string[]): Promise<string[]> {
  if (args[0] !== 'controller') return ['--import', 'tsx', CLI, ...args];
  controllerBundle ??= buildBundle('controller');
  return [await controllerBundle, ...args.slice(1)];
}

/**
 * Starts `ingot <args>` (with `spawner`; see {@link nodeArgs}) and resolves once its stdout
 * matches `ready`; rejects, killing it, when it exits first or is not ready within `timeoutMs`.
 * Keeps the last 200,000 characters of its output (chaos runs restart processes many times) and
 * hands each chunk to `onOutput`.
 */
export async function launch(
  args: readonly string[],
  ready: RegExp,
  options: { spawner?: Spawner; onOutput?: (text: string) => void; timeoutMs?: number } = {},
): Promise<Proc> {
  const { spawner = spawn, onOutput, timeoutMs = 30_000 } = options;
  const child = spawner(process.execPath, await nodeArgs(args), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, INGOT_URL: '', INGOT_API_KEY: '' },
  });
  let out = '';
  const take = (d: Buffer): void => {
    const text = d.toString();
    out = (out + text).slice(-200_000);
    onOutput?.(text);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ingot ${args.join(' ')}`);
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const proc: Proc = {
    child,
    pid,
    output: () => out,
    signal: (sig) => {
      if (!gone()) process.kill(pid, sig);
    },
    exited,
    async stop(graceMs = 5000) {
      if (gone()) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => proc.signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolveProc, reject) => {
    const timer = setTimeout(() => {
      proc.signal('SIGKILL');
      reject(new Error(`ingot ${args[0] ?? ''} did not become ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = (): void => {
      if (!ready.test(out)) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolveProc(proc);
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`ingot ${args[0] ?? ''} exited (${String(code)}) before it was ready:\n${out}`),
      );
    });
  });
}

/** A running controller process. */
export interface ControllerProc extends Proc {
  readonly url: string;
  readonly grpc: string;
  readonly adminKey: string;
}

/** Starts `ingot controller` on fresh loopback ports (or the given ones, to restart in place). */
export async function startControllerProc(options: {
  dataDir: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  httpPort?: number;
  grpcPort?: number;
  args?: string[];
}): Promise<ControllerProc> {
  const host = options.host ?? '127.0.0.1';
  const httpPort = options.httpPort ?? (await freePort());
  const grpcPort = options.grpcPort ?? (await freePort());
  const proc = await launch(
    [
      'controller',
      '--data',
      options.dataDir,
      '--http',
      `${host}:${httpPort}`,
      '--grpc',
      `${host}:${grpcPort}`,
      '--log-level',
      'warn',
      ...(options.args ?? []),
    ],
    /listening on http:/,
  );
  return {
    ...proc,
    url: `http://${host}:${httpPort}`,
    grpc: `${host}:${grpcPort}`,
    adminKey: readFileSync(join(options.dataDir, 'admin.key'), 'utf8').trim(),
  };
}

/** A running agent process. */
export interface AgentProc extends Proc {
  /** Base URL of its machine-facing HTTP server. */
  readonly url: string;
}

/** Starts `ingot agent`. */
export async function startAgentProc(options: {
  controller: string;
  dataDir: string;
  enrollToken?: string;
  httpPort?: number;
  /** `HOST:PORT` to serve TFTP on, or `off` (the default). */
  tftp?: string;
  /** More flags for `ingot agent`. */
  args?: string[];
}): Promise<AgentProc> {
  const httpPort = options.httpPort ?? (await freePort());
  const proc = await launch(
    [
      'agent',
      '--controller',
      options.controller,
      '--data',
      options.dataDir,
      '--http',
      `127.0.0.1:${httpPort}`,
      '--tftp',
      options.tftp ?? 'off',
      '--dhcp',
      'off',
      '--log-level',
      'warn',
      ...(options.enrollToken === undefined ? [] : ['--enroll-token', options.enrollToken]),
      ...(options.args ?? []),
    ],
    /rack agent running/,
  );
  return { ...proc, url: `http://127.0.0.1:${httpPort}` };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
