/**
 * The simulator process: runs inside the fleet's own network namespace (its veth joins the
 * agent's bridge), holds every simulated machine, the shared DHCP socket and the BMC, and talks
 * to its parent ({@link startFleet}) in JSON lines: commands on stdin, traces on stdout.
 *
 * BMC (one HTTP server for all machines; the agent's `webhook` power driver calls it):
 * `POST /bmc/<mac>/on|off|cycle`, `GET /bmc/<mac>/state` → `power: on|off`, all with
 * `Authorization: Bearer <token>`. A MAC it has not seen becomes a new machine.
 */
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import { startDhcpClient } from './dhcp-client.ts';
import { SimMachine, type MachineEnv, type MachineTrace } from './machine.ts';
import type { InstallerRetries } from './installer.ts';
import type { RetryPolicy } from './http-client.ts';

/** The engine's settings (first stdin line). */
export interface EngineConfig {
  readonly bmcAddress: string;
  readonly bmcPort: number;
  readonly bmcToken: string;
  readonly retries: InstallerRetries;
  readonly osRetry: RetryPolicy;
  readonly dhcp: { initialDelayMs: number; maxDelayMs: number; timeoutMs: number };
  readonly ipxeRebootDelayMs: number;
  readonly maxBootsPerPowerOn: number;
  readonly stepDelayMs: number;
  readonly rebootPostMs: number;
}

/** A command from the parent. */
export type EngineCommand =
  | { readonly op: 'power'; readonly mac: string; readonly action: 'on' | 'off' | 'cycle' }
  | { readonly op: 'wipe'; readonly mac: string }
  | { readonly op: 'stop' };

/** A line to the parent. */
export type EngineOutput =
  | { readonly t: 'ready'; readonly pid: number }
  | ({ readonly t: 'trace' } & MachineTrace)
  | { readonly t: 'bmc'; readonly mac: string; readonly action: string; readonly at: number };

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Runs the engine until stdin closes or `stop` arrives. */
export async function runEngine(config: EngineConfig): Promise<void> {
  const write = (line: EngineOutput): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  const dhcp = await startDhcpClient({
    retry: config.dhcp,
    onSendError: (error) => process.stderr.write(`DHCP send: ${error.message}\n`),
  });
  const env: MachineEnv = {
    dhcp,
    retries: config.retries,
    osRetry: config.osRetry,
    ipxeRebootDelayMs: config.ipxeRebootDelayMs,
    maxBootsPerPowerOn: config.maxBootsPerPowerOn,
    stepDelayMs: config.stepDelayMs,
    rebootPostMs: config.rebootPostMs,
    // The namespace routes the whole dynamic range to itself (AnyIP): every leased address is
    // already a local source address.
    claimAddress: () => Promise.resolve(),
    trace: (t) => write({ t: 'trace', ...t }),
  };
  const machines = new Map<string, SimMachine>();
  const machine = (mac: string): SimMachine => {
    let m = machines.get(mac);
    if (m === undefined) {
      m = new SimMachine(mac, env);
      machines.set(mac, m);
    }
    return m;
  };
  const power = (mac: string, action: string): void => {
    const m = machine(mac);
    if (action === 'on') m.powerOn();
    else if (action === 'off') m.powerOff();
    else if (action === 'cycle') {
      m.powerOff();
      m.powerOn();
    }
  };

  const server: Server = createServer((req, res) => {
    const match = /^\/bmc\/([0-9a-f:]{17})\/(on|off|cycle|state)$/.exec(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${config.bmcToken}`) {
      res.writeHead(401).end('unauthorised\n');
      return;
    }
    const mac = match?.[1];
    const action = match?.[2];
    if (mac === undefined || action === undefined || !MAC.test(mac)) {
      res.writeHead(404).end('no such machine\n');
      return;
    }
    req.resume();
    req.on('end', () => {
      if (action === 'state') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`power: ${machine(mac).power}\n`);
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      write({ t: 'bmc', mac, action, at: Date.now() });
      power(mac, action);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`power: ${machine(mac).power}\n`);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(config.bmcPort, config.bmcAddress, resolve));

  const rl = createInterface({ input: process.stdin });
  let stopping: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopping = resolve));
  rl.on('line', (line) => {
    let command: EngineCommand;
    try {
      command = JSON.parse(line) as EngineCommand;
    } catch {
      return;
    }
    if (command.op === 'power') power(command.mac, command.action);
    else if (command.op === 'wipe') machine(command.mac).wipe();
    else stopping?.();
  });
  rl.on('close', () => stopping?.());
  write({ t: 'ready', pid: process.pid });
  await stopped;
  for (const m of machines.values()) m.powerOff();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dhcp.close();
}
