/**
 * A cluster for the resilience scenarios (issue 7): N controller processes on one PostgreSQL
 * database and one rack agent given every controller's address. Any of them can be killed with
 * SIGKILL and restarted in place (same data directory, same ports) by index; the harness knows
 * every PID it started and signals only those. The agent may run inside a lab namespace (pass
 * the lab's `spawn`), the controllers then listen on the lab uplink's host address.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { api } from './api.ts';
import {
  killHard,
  startControllers,
  type Controllers,
  type ControllersOptions,
  type Spawner,
} from './cluster-controllers.ts';
import { parsePrometheusText, sampleValue } from './prometheus-text.ts';
import { freePort, launch, waitFor, type Proc } from './processes.ts';

export type { ClusterController, Spawner } from './cluster-controllers.ts';

/** Options of {@link startCluster}; `workDir` also holds `agent/`. */
export interface ClusterOptions extends ControllersOptions {
  /** The agent, or `false` for controllers only. */
  readonly agent?: ClusterAgentOptions | false;
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
export interface Cluster extends Controllers {
  readonly agent: ClusterAgent | undefined;
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

/** Starts the controllers one after another (the first creates the admin), then the agent. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const emit = options.onOutput ?? (() => undefined);
  const controllers = await startControllers(options);
  const slots = controllers.controllers;
  const adminKey = controllers.adminKey;
  let agent: ClusterAgent | undefined;
  let external: ExternalAgent | undefined;
  let agentToken: string | undefined;
  const agentOptions = options.agent === false ? undefined : (options.agent ?? {});

  const stopAll = async (): Promise<void> => {
    await agent?.proc?.stop();
    await controllers.close();
  };

  try {
    const agentHttp = agentOptions?.http ?? `127.0.0.1:${String(await freePort())}`;
    const startAgent = async (slot: ClusterAgent): Promise<void> => {
      const proc = await launch(
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
        { spawner: agentOptions?.spawn, onOutput: (t) => emit('agent', t), timeoutMs: 60_000 },
      );
      slot.proc = proc;
      slot.pids.push(proc.pid);
    };

    if (agentOptions !== undefined) {
      const first = controllers.live();
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

    const cluster: Cluster = {
      ...controllers,
      agent,
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
