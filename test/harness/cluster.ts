/**
 * A cluster for the resilience scenarios (issue 7): N controller processes on one PostgreSQL
 * database and one rack agent given every controller's address. Any of them can be killed with
 * SIGKILL and restarted in place (same data directory, same ports) by index; the harness knows
 * every PID it started and signals only those. The agent may run inside a lab namespace (pass
 * the lab's `spawn`), the controllers then listen on the lab uplink's host address.
 */
import { spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { api } from './api.ts';
import { parsePrometheusText, sampleValue } from './prometheus-text.ts';
import { freePort, waitFor, type Proc } from './processes.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

/** Starts a command (node's `spawn`, or a lab namespace's, which keeps the PID). */
export type Spawner = (cmd: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** `postgres://…` of an empty database every controller shares. */
  readonly databaseUrl: string;
  readonly controllers: number;
  /** Directory holding `controller-<i>/` and `agent/` (the caller removes it). */
  readonly workDir: string;
  /** Address controllers listen on (default 127.0.0.1; the lab uplink's host address for a lab). */
  readonly host?: string;
  readonly controllerArgs?: readonly string[];
  /** The agent, or `false` for controllers only. */
  readonly agent?: ClusterAgentOptions | false;
  /** Called with each line-buffered chunk a process writes, tagged (`c0`, `agent` …). */
  readonly onOutput?: (who: string, text: string) => void;
}

/** How the agent runs. */
export interface ClusterAgentOptions {
  /** Default: node's spawn on the host. */
  readonly spawn?: Spawner;
  /** `--http` value (default `127.0.0.1:<free port>`). */
  readonly http?: string;
  /** Base URL the host reaches the agent's HTTP server at (default from `http`). */
  readonly url?: string;
  /** More agent flags (`--interface`, `--dhcp`, `--tftp` …); default `--dhcp off --tftp off`. */
  readonly args?: readonly string[];
}

/** One controller slot: its fixed address and the process now running in it (if any). */
export interface ClusterController {
  readonly index: number;
  readonly dataDir: string;
  readonly url: string;
  readonly grpc: string;
  /** The running process, undefined while killed. */
  proc: Proc | undefined;
  /** PIDs this slot has had, oldest first. */
  readonly pids: number[];
}

/** The agent slot. */
export interface ClusterAgent {
  readonly dataDir: string;
  readonly url: string;
  proc: Proc | undefined;
  readonly pids: number[];
}

/** An agent started by someone else (the fleet simulator) that the cluster kills and restarts. */
export interface ExternalAgent {
  /** Its PID now, 0 while stopped. */
  readonly pid: number;
  /** SIGKILLs it and waits until it is gone. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/** A running cluster; see the module comment. */
export interface Cluster {
  readonly controllers: readonly ClusterController[];
  readonly agent: ClusterAgent | undefined;
  readonly adminKey: string;
  /** A controller that is running now (the lowest index). */
  live(): ClusterController;
  /** SIGKILLs controller `i` (if running) and waits until it is gone. Returns its PID. */
  killController(i: number): Promise<number | undefined>;
  /** Starts controller `i` again on its data directory and ports. */
  restartController(i: number): Promise<void>;
  killAgent(): Promise<number | undefined>;
  restartAgent(): Promise<void>;
  /** Hands the agent's kill and restart to `agent` (for a cluster started with `agent: false`). */
  attachAgent(agent: ExternalAgent): void;
  /** Index of the controller holding the rack session (its `ingot_rack_sessions` ≥ 1). */
  sessionHolder(): Promise<number | undefined>;
  /** Waits until exactly one running controller holds the rack session and returns it. */
  waitForSessionHolder(timeoutMs?: number): Promise<number>;
  /** Stops everything it started (SIGTERM, then SIGKILL), by PID. */
  close(): Promise<void>;
}

function launch(
  spawner: Spawner,
  args: readonly string[],
  ready: RegExp,
  onOutput: (text: string) => void,
  timeoutMs = 60_000,
): Promise<Proc> {
  const child = spawner(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, INGOT_URL: '', INGOT_API_KEY: '' },
  });
  let out = '';
  const take = (d: Buffer): void => {
    const text = d.toString();
    // Keep the tail only: chaos runs restart processes many times.
    out = (out + text).slice(-200_000);
    onOutput(text);
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
      reject(new Error(`ingot ${args[0] ?? ''} not ready in ${String(timeoutMs)} ms:\n${out}`));
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
      reject(new Error(`ingot ${args[0] ?? ''} exited (${String(code)}) before ready:\n${out}`));
    });
  });
}

async function killHard(proc: Proc | undefined): Promise<number | undefined> {
  if (proc === undefined) return undefined;
  proc.signal('SIGKILL');
  await proc.exited;
  return proc.pid;
}

/** Starts the controllers one after another (the first creates the admin), then the agent. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const host = options.host ?? '127.0.0.1';
  const emit = options.onOutput ?? (() => undefined);
  const slots: ClusterController[] = [];
  for (let i = 0; i < options.controllers; i++) {
    const dataDir = join(options.workDir, `controller-${String(i)}`);
    mkdirSync(dataDir, { recursive: true });
    const [http, grpc] = [await freePort(), await freePort()];
    slots.push({
      index: i,
      dataDir,
      url: `http://${host}:${String(http)}`,
      grpc: `${host}:${String(grpc)}`,
      proc: undefined,
      pids: [],
    });
  }
  let agent: ClusterAgent | undefined;
  let external: ExternalAgent | undefined;
  let agentToken: string | undefined;
  const agentOptions = options.agent === false ? undefined : (options.agent ?? {});
  const agentHttp = agentOptions?.http ?? `127.0.0.1:${String(await freePort())}`;

  const startController = async (slot: ClusterController): Promise<void> => {
    const proc = await launch(
      spawnChild,
      [
        'controller',
        '--data',
        slot.dataDir,
        '--http',
        slot.url.slice('http://'.length),
        '--grpc',
        slot.grpc,
        '--db',
        options.databaseUrl,
        '--log-level',
        'warn',
        ...(options.controllerArgs ?? []),
      ],
      /listening on http:/,
      (t) => emit(`c${String(slot.index)}`, t),
    );
    slot.proc = proc;
    slot.pids.push(proc.pid);
  };

  const startAgent = async (slot: ClusterAgent): Promise<void> => {
    const proc = await launch(
      agentOptions?.spawn ?? spawnChild,
      [
        'agent',
        '--controller',
        slots.map((s) => s.grpc).join(','),
        '--controller-http',
        slots.map((s) => s.url).join(','),
        '--data',
        slot.dataDir,
        '--http',
        agentHttp,
        '--log-level',
        'warn',
        ...(agentToken === undefined ? [] : ['--enroll-token', agentToken]),
        ...(agentOptions?.args ?? ['--dhcp', 'off', '--tftp', 'off']),
      ],
      /rack agent running/,
      (t) => emit('agent', t),
    );
    slot.proc = proc;
    slot.pids.push(proc.pid);
  };

  const stopAll = async (): Promise<void> => {
    await agent?.proc?.stop();
    await Promise.all(slots.flatMap((s) => (s.proc === undefined ? [] : [s.proc.stop()])));
  };

  try {
    const first = slots[0];
    if (first === undefined) throw new Error('a cluster needs at least one controller');
    await startController(first);
    // Every controller on one database shares the first one's sealing key (BMC passwords, the
    // rack CA) and, for the harness, its admin key.
    for (const s of slots.slice(1)) {
      for (const f of ['secrets.key', 'admin.key']) {
        copyFileSync(join(first.dataDir, f), join(s.dataDir, f));
      }
      await startController(s);
    }
    const adminKey = readFileSync(join(first.dataDir, 'admin.key'), 'utf8').trim();
    if (agentOptions !== undefined) {
      const token = await api<{ token: string }>(
        first.url,
        adminKey,
        'POST',
        '/api/v1/racks/enroll-tokens',
      );
      if (token.status !== 201) throw new Error(`enroll token: ${JSON.stringify(token.body)}`);
      agentToken = token.body.token;
      const dataDir = join(options.workDir, 'agent');
      mkdirSync(dataDir, { recursive: true });
      agent = {
        dataDir,
        url: agentOptions.url ?? `http://${agentHttp.replace('0.0.0.0', '127.0.0.1')}`,
        proc: undefined,
        pids: [],
      };
      await startAgent(agent);
      // Enrolled: restarts use the stored identity.
      agentToken = undefined;
    }

    const live = (): ClusterController => {
      const s = slots.find((c) => c.proc !== undefined);
      if (s === undefined) throw new Error('no controller is running');
      return s;
    };
    const slot = (i: number): ClusterController => {
      const s = slots[i];
      if (s === undefined) throw new Error(`no controller ${String(i)}`);
      return s;
    };
    const cluster: Cluster = {
      controllers: slots,
      agent,
      adminKey,
      live,
      async killController(i) {
        const s = slot(i);
        const pid = await killHard(s.proc);
        s.proc = undefined;
        return pid;
      },
      async restartController(i) {
        const s = slot(i);
        if (s.proc !== undefined) return;
        await startController(s);
      },
      async killAgent() {
        if (external !== undefined) {
          const pid = external.pid;
          if (pid === 0) return undefined;
          await external.kill();
          return pid;
        }
        if (agent === undefined) return undefined;
        const pid = await killHard(agent.proc);
        agent.proc = undefined;
        return pid;
      },
      async restartAgent() {
        if (external !== undefined) {
          if (external.pid === 0) await external.start();
          return;
        }
        if (agent === undefined || agent.proc !== undefined) return;
        await startAgent(agent);
      },
      async sessionHolder() {
        const holders: number[] = [];
        for (const s of slots) {
          if (s.proc === undefined) continue;
          try {
            const res = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(5000) });
            const families = parsePrometheusText(await res.text());
            if (sampleValue(families, 'ingot_rack_sessions') >= 1) holders.push(s.index);
          } catch {
            // A controller that does not answer holds nothing we can see.
          }
        }
        return holders.length === 1 ? holders[0] : undefined;
      },
      waitForSessionHolder(timeoutMs = 60_000) {
        return waitFor(
          'one controller holding the rack session',
          () => cluster.sessionHolder(),
          timeoutMs,
        );
      },
      attachAgent(a) {
        external = a;
      },
      close: stopAll,
    };
    return cluster;
  } catch (e) {
    await stopAll();
    throw e;
  }
}
