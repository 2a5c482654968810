/**
 * The fleet's operator side ({@link startFleet}): sets up the site through the controller's API
 * (images, an enrolled rack agent in the fleet namespace, the subnet, the machines with their
 * webhook BMCs), starts the simulator process in its namespace, and drives deploys with bounded
 * concurrency, keeping every machine's timeline.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { callApi, type ControllerRef } from './api-client.ts';
import type { EngineConfig, EngineOutput } from './engine.ts';
import type { MachineTrace } from './machine.ts';
import { REAL_INSTALLER_RETRIES, type InstallerRetries } from './installer.ts';
import { FLEET_RANGE, FLEET_SIM_ADDRESS, FLEET_SUBNET, type FleetNetwork } from './network.ts';
import { ensureImages, type ImageSizes } from './images.ts';
import { startFleetAgent, type AgentRuntime, type FleetAgent } from './agent.ts';
import { runPool } from './pool.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const ENGINE = join(ROOT, 'packages', 'fleet-sim', 'src', 'engine-main.ts');

/** Options of {@link startFleet}. */
export interface FleetOptions {
  readonly network: FleetNetwork;
  /** Controllers (all on one database); the agent gets all of them, API calls fail over. */
  readonly controllers: readonly ControllerRef[];
  /** An admin API key (setup: images, enroll token, subnet, machines). */
  readonly adminKey: string;
  /** Simulated machines to create. */
  readonly machines: number;
  /** Machines created through the API at once (default 8). */
  readonly createConcurrency?: number;
  readonly imageSizes?: Partial<ImageSizes>;
  /** More `ingot agent` flags (e.g. `--power-poll 30s`). */
  readonly agentArgs?: readonly string[];
  /** `bundle` (default): the production agent bundle with its Node flags; `source`: via tsx. */
  readonly agentRuntime?: AgentRuntime;
  /** Installer retries (default: the real installer's curl retries). */
  readonly installerRetries?: InstallerRetries;
  /** Per installer step pause, to stretch deploys (default 0). */
  readonly stepDelayMs?: number;
  /**
   * Firmware POST time after the installer's reboot (default 3000 ms, a fast VM). Shorter races
   * the controller's "boot the local disk" plan to the agent (see README, found by the e2e test).
   */
  readonly rebootPostMs?: number;
  /** DHCP retransmission as the firmware does it (default 2 s doubling to 8 s, 60 s in all). */
  readonly dhcp?: EngineConfig['dhcp'];
  readonly log?: (line: string) => void;
  /** Every simulator trace as it arrives (live timelines, debugging). */
  readonly onTrace?: (trace: MachineTrace) => void;
}

/** One machine of the fleet. */
export interface FleetMachine {
  readonly id: string;
  readonly mac: string;
  readonly hostname: string;
}

/** How one deploy ended. */
export interface DeployOutcome {
  readonly id: string;
  readonly mac: string;
  /** The controller's status at the end (`deployed`, `failed_deployment`, … or `timeout`). */
  readonly status: string;
  readonly seconds: number;
  readonly error?: string | undefined;
}

/** A running fleet. */
export interface Fleet {
  readonly machines: readonly FleetMachine[];
  readonly agent: FleetAgent;
  /** The simulator process (in the fleet namespace). */
  readonly simPid: number;
  /** The operator's (role user) API key used for allocate/deploy. */
  readonly userKey: string;
  /**
   * Allocates and deploys `ids` (all when omitted), `concurrency` at a time; resolves when each
   * is `deployed`, failed, or past `timeoutMs`. Never rejects for a machine's failure.
   */
  deploy(
    ids?: readonly string[],
    options?: {
      concurrency?: number;
      os?: string;
      release?: string;
      ephemeral?: boolean;
      timeoutMs?: number;
    },
  ): Promise<DeployOutcome[]>;
  /** Everything the simulator saw for a machine, in order. */
  timeline(id: string): readonly MachineTrace[];
  /** Every address each machine was given (by machine id). */
  addresses(): ReadonlyMap<string, ReadonlySet<string>>;
  /** Presses a machine's power button (BMC-side, the controller is not told). */
  press(id: string, action: 'on' | 'off' | 'cycle'): void;
  close(): Promise<void>;
}

/** Sets up the site and starts the simulator; see the module comment. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const log = options.log ?? ((): void => undefined);
  const { controllers, adminKey, network } = options;
  const work = mkdtempSync(join(tmpdir(), 'ingot-fleet-'));
  const cleanups: (() => Promise<void>)[] = [
    () => Promise.resolve(rmSync(work, { recursive: true, force: true })),
  ];
  const closeAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const images = await ensureImages(controllers, adminKey, work, options.imageSizes);
    log(`images: ${images.map((i) => `${i.os}/${i.release}`).join(', ')}`);
    const agent = await startFleetAgent({
      network,
      controllers,
      adminKey,
      dataDir: join(work, 'agent'),
      args: options.agentArgs ?? [],
      runtime: options.agentRuntime,
    });
    cleanups.push(() => agent.stop());
    log(`agent ${agent.pid} up, rack ${agent.rackId}`);
    const subnets = await callApi<{ cidr: string }[]>(
      controllers,
      adminKey,
      'GET',
      '/api/v1/subnets',
    );
    if (!subnets.body.some((s) => s.cidr === FLEET_SUBNET)) {
      const made = await callApi(controllers, adminKey, 'POST', '/api/v1/subnets', {
        cidr: FLEET_SUBNET,
        gateway: null,
        dynamic_ranges: [FLEET_RANGE],
        lease_seconds: 3600,
        rack: agent.rackId,
      });
      if (made.status !== 201)
        throw new Error(`subnet: ${made.status} ${JSON.stringify(made.body)}`);
    }
    const user = await callApi<{ api_key: string }>(
      controllers,
      adminKey,
      'POST',
      '/api/v1/users',
      {
        username: `fleet-${randomBytes(4).toString('hex')}`,
        role: 'user',
      },
    );
    if (user.status !== 201) throw new Error(`user: ${user.status} ${JSON.stringify(user.body)}`);
    const userKey = user.body.api_key;

    const bmcToken = randomBytes(18).toString('base64url');
    const bmcPort = 5300;
    const engine = await startEngine(network, options.onTrace, {
      bmcAddress: FLEET_SIM_ADDRESS,
      bmcPort,
      bmcToken,
      retries: options.installerRetries ?? REAL_INSTALLER_RETRIES,
      osRetry: { backoff: 'fixed', retries: 5, delayMs: 1000 },
      dhcp: options.dhcp ?? { initialDelayMs: 2000, maxDelayMs: 8000, timeoutMs: 60_000 },
      ipxeRebootDelayMs: 10_000,
      maxBootsPerPowerOn: 5,
      stepDelayMs: options.stepDelayMs ?? 0,
      rebootPostMs: options.rebootPostMs ?? 3000,
    });
    cleanups.push(() => engine.stop());
    log(`simulator ${engine.pid} up (BMC ${FLEET_SIM_ADDRESS}:${bmcPort})`);

    const prefix = randomBytes(2);
    const machines: FleetMachine[] = [];
    const created = await runPool(
      Array.from({ length: options.machines }, (_, i) => i),
      options.createConcurrency ?? 8,
      async (i) => {
        const mac = [0x52, 0xf1, prefix[0] ?? 0, prefix[1] ?? 0, i >> 8, i & 255]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(':');
        const hostname = `sim-${prefix.toString('hex')}-${String(i).padStart(4, '0')}`;
        const bmc = (action: string): { url: string; headers: Record<string, string> } => ({
          url: `http://${FLEET_SIM_ADDRESS}:${bmcPort}/bmc/${mac}/${action}`,
          headers: { Authorization: 'Bearer {{token}}' },
        });
        const r = await callApi<{ id: string }>(controllers, adminKey, 'POST', '/api/v1/machines', {
          hostname,
          macs: [mac],
          commission: false,
          power: {
            type: 'webhook',
            params: {
              on: bmc('on'),
              off: bmc('off'),
              cycle: bmc('cycle'),
              query: {
                ...bmc('state'),
                method: 'GET',
                onPattern: 'power: on',
                offPattern: 'power: off',
              },
              token: bmcToken,
            },
          },
        });
        if (r.status !== 201)
          throw new Error(`machine ${hostname}: ${r.status} ${JSON.stringify(r.body)}`);
        return { id: r.body.id, mac, hostname };
      },
    );
    machines.push(...created);
    log(`${machines.length} machines created`);
    const byId = new Map(machines.map((m) => [m.id, m]));
    const byMac = new Map(machines.map((m) => [m.mac, m]));
    const known = (id: string): FleetMachine => {
      const m = byId.get(id);
      if (m === undefined) throw new Error(`not a machine of this fleet: ${id}`);
      return m;
    };

    return {
      machines,
      agent,
      simPid: engine.pid,
      userKey,
      async deploy(ids, deployOptions = {}) {
        const list = (ids ?? machines.map((m) => m.id)).map(known);
        const timeoutMs = deployOptions.timeoutMs ?? 600_000;
        return runPool(list, deployOptions.concurrency ?? 10, async (m): Promise<DeployOutcome> => {
          const t0 = Date.now();
          const end = (status: string, error?: string): DeployOutcome => ({
            id: m.id,
            mac: m.mac,
            status,
            seconds: (Date.now() - t0) / 1000,
            error,
          });
          try {
            const alloc = await callApi(controllers, userKey, 'POST', '/api/v1/machines/allocate', {
              name: m.id,
            });
            if (alloc.status !== 200 && alloc.status !== 409)
              return end('allocate-refused', JSON.stringify(alloc.body));
            const dep = await callApi(
              controllers,
              userKey,
              'POST',
              `/api/v1/machines/${m.id}/deploy`,
              {
                os: deployOptions.os ?? 'fleet',
                release: deployOptions.release ?? 'sim',
                ...(deployOptions.ephemeral === true ? { ephemeral: true } : {}),
              },
            );
            if (dep.status !== 202 && dep.status !== 409)
              return end('deploy-refused', JSON.stringify(dep.body));
            for (let i = 0; Date.now() - t0 < timeoutMs && i < 100_000; i++) {
              await engine.waitForProgress(m.mac, 5000);
              const now = await callApi<{ status: string; status_message: string }>(
                controllers,
                userKey,
                'GET',
                `/api/v1/machines/${m.id}`,
              );
              const status = now.body.status;
              if (status === 'deployed') return end(status);
              if (status.startsWith('failed_') || status === 'ready' || status === 'broken')
                return end(status, now.body.status_message);
            }
            return end('timeout', `not deployed within ${timeoutMs} ms`);
          } catch (e) {
            return end('error', e instanceof Error ? e.message : String(e));
          }
        });
      },
      timeline: (id) => engine.traces.get(known(id).mac) ?? [],
      addresses() {
        const out = new Map<string, ReadonlySet<string>>();
        for (const [mac, ips] of engine.ips) {
          const m = byMac.get(mac);
          if (m !== undefined) out.set(m.id, ips);
        }
        return out;
      },
      press: (id, action) => engine.send({ op: 'power', mac: known(id).mac, action }),
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** The parent's handle on the simulator process. */
interface EngineHandle {
  readonly pid: number;
  readonly traces: Map<string, MachineTrace[]>;
  readonly ips: Map<string, Set<string>>;
  send(command: object): void;
  /** Resolves on the machine's next "settled" trace (OS up, halt) or after `ms`. */
  waitForProgress(mac: string, ms: number): Promise<void>;
  stop(): Promise<void>;
}

async function startEngine(
  network: FleetNetwork,
  onTrace: ((t: MachineTrace) => void) | undefined,
  config: EngineConfig,
): Promise<EngineHandle> {
  const child: ChildProcess = network.spawnSim(process.execPath, ['--import', 'tsx', ENGINE], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined || child.stdin === null || child.stdout === null)
    throw new Error('simulator did not start');
  const stdin = child.stdin;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const traces = new Map<string, MachineTrace[]>();
  const ips = new Map<string, Set<string>>();
  const waiters = new Map<string, Set<() => void>>();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let ready: (() => void) | undefined;
  const readyP = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let out: EngineOutput;
    try {
      out = JSON.parse(line) as EngineOutput;
    } catch {
      return;
    }
    if (out.t === 'ready') ready?.();
    if (out.t !== 'trace') return;
    const t: MachineTrace = { mac: out.mac, at: out.at, step: out.step, detail: out.detail };
    let list = traces.get(t.mac);
    if (list === undefined) traces.set(t.mac, (list = []));
    list.push(t);
    onTrace?.(t);
    const ip = t.detail?.['ip'];
    if (typeof ip === 'string') {
      let set = ips.get(t.mac);
      if (set === undefined) ips.set(t.mac, (set = new Set()));
      set.add(ip);
    }
    if (t.step === 'os.up' || t.step === 'halt' || t.step === 'power.off') {
      for (const w of waiters.get(t.mac) ?? []) w();
    }
  });
  stdin.write(`${JSON.stringify(config)}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await Promise.race([
    readyP,
    exited.then(() => Promise.reject(new Error(`simulator exited:\n${stderr}`))),
  ]);
  clearTimeout(timer);
  return {
    pid,
    traces,
    ips,
    send: (command) => stdin.write(`${JSON.stringify(command)}\n`),
    waitForProgress: (mac, ms) =>
      new Promise((resolveWait) => {
        let set = waiters.get(mac);
        if (set === undefined) waiters.set(mac, (set = new Set()));
        const done = (): void => {
          clearTimeout(timer);
          set.delete(done);
          resolveWait();
        };
        const timer = setTimeout(done, ms);
        set.add(done);
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stdin.write(`${JSON.stringify({ op: 'stop' })}\n`);
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
