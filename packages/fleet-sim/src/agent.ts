/**
 * The one real rack agent of a fleet: inside the fleet's lab namespace, serving DHCP, TFTP and
 * HTTP boot on its bridge, enrolled with a one-time token. It can be stopped, killed and started
 * again on the same data directory (the chaos scenarios do). By default it runs as in production:
 * the bundle `ingot-agent.mjs`, rebuilt from the current sources, with AGENT_NODE_FLAGS;
 * `runtime: 'source'` runs `ingot agent` through tsx instead.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AGENT_NODE_FLAGS, buildAgentBundle } from '@ingot/cli/bundles';
import { callApi, type ControllerRef } from './api-client.ts';
import { sleep } from './http-client.ts';
import type { FleetNetwork } from './network.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

/** How the agent runs: the production bundle (default) or the TypeScript sources through tsx. */
export type AgentRuntime = 'bundle' | 'source';

/** The agent process. */
export interface FleetAgent {
  /** PID of the running agent (node itself: `ip netns exec` execs in place); 0 when stopped. */
  readonly pid: number;
  readonly rackId: string;
  readonly dataDir: string;
  /** The agent's last 64 KiB of output. */
  output(): string;
  /** Starts it again on the same data directory (no-op when running); waits for "running". */
  start(): Promise<void>;
  /** SIGTERM (or `signal`), then SIGKILL after 5 s; resolves when gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts and enrolls the agent, and waits until the controller lists its rack as healthy. */
export async function startFleetAgent(options: {
  network: FleetNetwork;
  controllers: readonly ControllerRef[];
  adminKey: string;
  dataDir: string;
  args: readonly string[];
  runtime?: AgentRuntime;
}): Promise<FleetAgent> {
  const { network, controllers, adminKey } = options;
  mkdirSync(options.dataDir, { recursive: true });
  const before = await callApi<{ id: string }[]>(controllers, adminKey, 'GET', '/api/v1/racks');
  const token = await callApi<{ token: string }>(
    controllers,
    adminKey,
    'POST',
    '/api/v1/racks/enroll-tokens',
  );
  if (token.status !== 201 && token.status !== 200)
    throw new Error(`enroll token: ${token.status}`);
  let child: ChildProcess | undefined;
  let out = '';
  const entry =
    options.runtime === 'source'
      ? ['--import', 'tsx', CLI, 'agent']
      : [...AGENT_NODE_FLAGS, await buildAgentBundle()];
  const args = [
    ...entry,
    ...controllers.flatMap((c) => ['--controller', c.grpc]),
    '--controller-http',
    controllers[0]?.url ?? '',
    '--enroll-token',
    token.body.token,
    '--data',
    options.dataDir,
    '--interface',
    network.lab.bridge,
    '--http',
    '0.0.0.0:5248',
    '--tftp',
    '0.0.0.0:69',
    '--dhcp',
    '67',
    '--log-level',
    'warn',
    ...options.args,
  ];
  const start = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) return;
    const c = network.lab.spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    const onData = (d: Buffer): void => {
      out = (out + d.toString()).slice(-65_536);
    };
    c.stdout?.on('data', onData);
    c.stderr?.on('data', onData);
    for (let i = 0; i < 600; i++) {
      if (/rack agent running/.test(out)) return;
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`agent exited:\n${out}`);
      await sleep(100);
    }
    throw new Error(`agent not running after 60 s:\n${out}`);
  };
  await start();
  let rackId = '';
  for (let i = 0; i < 300 && rackId === ''; i++) {
    const racks = await callApi<{ id: string; status: string }[]>(
      controllers,
      adminKey,
      'GET',
      '/api/v1/racks',
    );
    const fresh = racks.body.find(
      (r) => r.status === 'healthy' && !before.body.some((b) => b.id === r.id),
    );
    if (fresh !== undefined) rackId = fresh.id;
    else await sleep(200);
  }
  if (rackId === '') throw new Error(`the fleet's rack never became healthy:\n${out}`);
  return {
    get pid() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
        ? (child.pid ?? 0)
        : 0;
    },
    rackId,
    dataDir: options.dataDir,
    output: () => out,
    start,
    async stop(signal = 'SIGTERM') {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null || c.pid === undefined)
        return;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      process.kill(c.pid, signal);
      const timer = setTimeout(() => {
        if (c.exitCode === null && c.signalCode === null && c.pid !== undefined)
          process.kill(c.pid, 'SIGKILL');
      }, 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}
