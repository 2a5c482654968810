/**
 * `ingot lab up|status|down`: the virtual lab (issue 4). `lab up` starts a detached supervisor
 * (`ingot lab run`) that makes a network namespace with a bridge (172.31.0.1/24) and an uplink
 * /30 out of 172.31.252.0/22, forwards the controller's HTTP and gRPC ports onto the uplink's host
 * address, runs a rack agent inside the namespace (DHCP, TFTP, HTTP boot on the bridge), starts N
 * QEMU VMs (TCG, `-no-shutdown -S`: powered off) each behind an `ipmi_sim` BMC and the lab Redfish
 * service (both on the uplink's host address, so only 172.31.0.0/16 is used), registers the
 * machines in the controller and writes `DATA/lab.json`. `lab down` kills every PID it lists,
 * deletes the namespace, the VMs' files and the machines it registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startIpmiSim, IPMI_SIM_CIPHER_SUITE, type IpmiSim } from '@ingot/lab/bmc/ipmi-sim.ts';
import { createLab, removeNamespaceSync, type LabNetwork } from '@ingot/lab/netns.ts';
import { startVm, type Vm } from '@ingot/lab/qemu.ts';
import { createQmpMachine, type RedfishMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService, type RedfishService } from '@ingot/lab/redfish/service.ts';
import { hostPort, parse, UsageError } from './args.ts';
import { call, type ClientOptions } from './client.ts';
import { field, table } from './table.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const MAIN = join(import.meta.dirname, 'main.ts');

/** One lab machine as `lab.json` records it (no secrets). */
export interface LabMachineState {
  readonly name: string;
  readonly mac: string;
  readonly machineId: string;
  readonly power: 'ipmi' | 'redfish';
  /** `host:port` (ipmi) or the Redfish system URL. */
  readonly bmc: string;
  readonly qemuPid: number;
  /** -1 for a Redfish machine (its BMC is the supervisor). */
  readonly ipmiSimPid: number;
  readonly disk: string;
}

/** `DATA/lab.json`. */
export interface LabState {
  readonly status: 'ready';
  readonly controllerUrl: string;
  readonly namespace: string;
  readonly uplinkHostAddress: string;
  readonly supervisorPid: number;
  readonly agentPid: number;
  readonly rackId: string;
  readonly redfishUrl: string;
  readonly firmware: 'bios' | 'uefi';
  readonly machines: readonly LabMachineState[];
}

/** The state file of the lab in `dataDir`. */
export function labStatePath(dataDir: string): string {
  return join(resolve(dataDir), 'lab.json');
}

/** Reads `DATA/lab.json`, or undefined when there is no lab. */
export function readLabState(dataDir: string): LabState | undefined {
  const path = labStatePath(dataDir);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as LabState;
}

const labFlags = {
  machines: { type: 'string' },
  uefi: { type: 'boolean' },
  data: { type: 'string' },
  'controller-grpc': { type: 'string' },
  'power-poll': { type: 'string' },
} as const;

/** `ingot lab up|status|down|run`. */
export async function lab(
  argv: string[],
  client: ClientOptions,
  out: (text: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse(rest, labFlags);
  const dataDir = resolve(values.data ?? '.data/lab');
  switch (sub) {
    case 'up':
      return labUp(dataDir, rest, client, out);
    case 'run':
      return labRun(dataDir, values, client);
    case 'status':
      return labStatus(dataDir, client, out);
    case 'down':
      return labDown(dataDir, client, out);
    case undefined:
    default:
      throw new UsageError(
        'usage: ingot lab up --machines N [--uefi] [--data DIR] | status | down',
      );
  }
}

function machineCount(value: string | undefined): number {
  const n = Number(value ?? '2');
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError('--machines takes 1-16');
  return n;
}

/** `lab up`: starts the supervisor detached and waits until it wrote `lab.json` or failed. */
async function labUp(
  dataDir: string,
  argv: string[],
  client: ClientOptions,
  out: (text: string) => void,
): Promise<number> {
  if (client.key === undefined || client.key === '')
    throw new UsageError('lab up needs a running controller: set INGOT_URL and INGOT_API_KEY');
  const { values } = parse(argv, labFlags);
  machineCount(values.machines);
  if (readLabState(dataDir) !== undefined)
    throw new UsageError(`a lab is already up (${labStatePath(dataDir)}); run ingot lab down`);
  // Fail early, in the foreground, when the controller is not there.
  await call(client, 'GET', '/api/v1/racks');
  mkdirSync(dataDir, { recursive: true });
  const logPath = join(dataDir, 'lab.log');
  const log = openSync(logPath, 'w');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--url', client.url, 'lab', 'run', ...argv, '--data', dataDir],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, INGOT_API_KEY: client.key },
    },
  );
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const deadline = Date.now() + 180_000;
  for (;;) {
    const state = readLabState(dataDir);
    if (state !== undefined) {
      out(`Lab up: namespace ${state.namespace}, ${state.machines.length} machines\n`);
      out(statusTable(state, undefined));
      out(`Log: ${logPath}\nStop with: pnpm ingot lab down --data ${dataDir}\n`);
      return 0;
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      out(`lab up failed:\n${readFileSync(logPath, 'utf8').slice(-4000)}\n`);
      return 1;
    }
    await delay(250);
  }
}

/** Forwards TCP from `listenHost:<free port>` to `target` (controller ports onto the uplink). */
async function forward(listenHost: string, target: string): Promise<Server> {
  const { host, port } = hostPort(target, '127.0.0.1');
  const server = createServer((socket) => {
    const upstream = connect(port, host);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, listenHost, ok);
  });
  return server;
}

/** 127.0.0.1 HTTP endpoint the `ipmi_sim` chassis script calls: `/<vm>/<get|set>/<parm>[/<v>]`. */
async function startChassisControl(
  machines: ReadonlyMap<string, RedfishMachine>,
): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    const [, name = '', op, parm, value] = (req.url ?? '').split('/');
    const machine = machines.get(name);
    const reply = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
    };
    if (machine === undefined) {
      reply(404, 'no such vm\n');
      return;
    }
    const act = async (): Promise<string> => {
      if (op === 'get' && parm === 'power')
        return (await machine.powerState()) === 'On' ? '1' : '0';
      if (op === 'set' && parm === 'power') {
        await machine.reset(value === '1' ? 'On' : 'ForceOff', undefined);
        return '';
      }
      if (op === 'set' && parm === 'reset') {
        await machine.reset('ForceRestart', undefined);
        return '';
      }
      // Lab VMs network-boot first; a PXE boot device is what they do anyway.
      if (op === 'set' && parm === 'boot') return '';
      throw new Error(`unsupported ${String(op)} ${String(parm)}`);
    };
    act().then(
      (text) => reply(200, text),
      (e: unknown) => reply(500, e instanceof Error ? e.message : String(e)),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return server;
}

/** Waits until `check` returns a value (polling), or throws after `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(250);
  }
}

function secret(): string {
  return randomBytes(8).toString('hex');
}

/** `lab run`: the supervisor; keeps the lab's in-process parts (Redfish, forwarders) alive. */
async function labRun(
  dataDir: string,
  values: ReturnType<typeof parse<typeof labFlags>>['values'],
  client: ClientOptions,
): Promise<number> {
  const count = machineCount(values.machines);
  const firmware = values.uefi === true ? 'uefi' : 'bios';
  const controllerHost = new URL(client.url).hostname;
  const grpcTarget = values['controller-grpc'] ?? `${controllerHost}:5250`;
  const httpTarget = `${controllerHost}:${new URL(client.url).port || '80'}`;
  const log = (text: string): void =>
    void process.stdout.write(`${new Date().toISOString()} ${text}\n`);

  let net: LabNetwork | undefined;
  const servers: (Server | HttpServer)[] = [];
  const sims: IpmiSim[] = [];
  const vms: Vm[] = [];
  let redfish: RedfishService | undefined;
  let agent: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    for (const s of sims) await s.stop();
    await redfish?.close();
    for (const s of servers) s.close();
    for (const vm of vms) await vm.stop();
    await net?.cleanup();
    rmSync(join(dataDir, 'vms'), { recursive: true, force: true });
  };
  try {
    net = await createLab({ uplink: true });
    const uplink = net.uplink;
    if (uplink === undefined) throw new Error('lab without uplink');
    log(`namespace ${net.namespace}, uplink ${uplink.hostAddress} ⇄ ${uplink.labAddress}`);
    const httpFwd = await forward(uplink.hostAddress, httpTarget);
    const grpcFwd = await forward(uplink.hostAddress, grpcTarget);
    servers.push(httpFwd, grpcFwd);
    const port = (s: Server): number => (s.address() as AddressInfo).port;

    const before = (await call(client, 'GET', '/api/v1/racks')) as { id: string }[];
    const token = (await call(client, 'POST', '/api/v1/racks/enroll-tokens')) as { token: string };
    const agentDir = join(dataDir, 'agent');
    mkdirSync(join(agentDir, 'images'), { recursive: true });
    const agentLog = openSync(join(dataDir, 'agent.log'), 'a');
    agent = net.spawn(
      process.execPath,
      [
        ...['--import', 'tsx', MAIN, 'agent'],
        ...['--controller', `${uplink.hostAddress}:${port(grpcFwd)}`],
        ...['--controller-http', `http://${uplink.hostAddress}:${port(httpFwd)}`],
        ...['--enroll-token', token.token, '--data', agentDir, '--interface', net.bridge],
        ...['--http', '0.0.0.0:5248', '--tftp', '0.0.0.0:69', '--dhcp', '67'],
        ...['--power-poll', values['power-poll'] ?? '5s', '--log-level', 'warn'],
      ],
      { cwd: ROOT, stdio: ['ignore', agentLog, agentLog] },
    );
    closeSync(agentLog);
    const known = new Set(before.map((r) => r.id));
    const rack = await until('the lab rack to enroll', 60_000, async () => {
      const racks = (await call(client, 'GET', '/api/v1/racks')) as {
        id: string;
        status: string;
      }[];
      return racks.find((r) => !known.has(r.id) && r.status === 'healthy');
    });
    log(`rack ${rack.id} healthy`);

    const subnets = (await call(client, 'GET', '/api/v1/subnets')) as {
      id: string;
      cidr: string;
    }[];
    const labSubnet = net.subnet;
    const existing = subnets.find((s) => s.cidr === labSubnet);
    if (existing === undefined) {
      await call(client, 'POST', '/api/v1/subnets', {
        cidr: labSubnet,
        gateway: null,
        dynamic_ranges: [{ start: '172.31.0.100', end: '172.31.0.199' }],
        lease_seconds: 600,
        rack: rack.id,
      });
    } else {
      // A subnet left by an earlier lab: serve it from this lab's rack.
      await call(client, 'PATCH', `/api/v1/subnets/${existing.id}`, { rack: rack.id });
    }

    const vmDir = join(dataDir, 'vms');
    mkdirSync(vmDir, { recursive: true });
    const machines = new Map<string, RedfishMachine>();
    for (let i = 1; i <= count; i++) {
      const name = `lab-${String(i)}`;
      const disk = join(vmDir, `${name}.raw`);
      writeFileSync(disk, '');
      truncateSync(disk, 4 * 1024 ** 3); // sparse, blank
      const vm = await startVm({
        lab: net,
        name,
        mac: `52:54:00:31:01:${i.toString(16).padStart(2, '0')}`,
        firmware,
        workDir: vmDir,
        noReboot: false,
        extraArgs: ['-no-shutdown', '-S', '-drive', `file=${disk},format=raw,if=virtio`],
      });
      vms.push(vm);
      machines.set(
        name,
        createQmpMachine((c, a) => vm.qmp(c, a)),
      );
    }
    const redfishPassword = secret();
    redfish = await startRedfishService({
      systems: Object.fromEntries(machines),
      username: 'admin',
      password: redfishPassword,
      host: uplink.hostAddress,
      tlsAltNames: [`IP:${uplink.hostAddress}`],
    });
    const control = await startChassisControl(machines);
    servers.push(control);
    const chassisScript = join(vmDir, 'chassis.sh');
    const controlPort = String((control.address() as AddressInfo).port);
    writeFileSync(
      chassisScript,
      `#!/bin/sh\nexec curl -sf --max-time 60 "http://127.0.0.1:${controlPort}/$1/$2/$3/$4"\n`,
    );
    chmodSync(chassisScript, 0o755);

    const state: LabMachineState[] = [];
    for (const [index, vm] of vms.entries()) {
      const power = index % 2 === 0 ? 'ipmi' : 'redfish';
      let bmc: string;
      let params: Record<string, unknown>;
      let ipmiSimPid = -1;
      if (power === 'ipmi') {
        const sim = await startIpmiSim({
          address: uplink.hostAddress,
          password: secret(),
          chassisCommand: [chassisScript, vm.name],
        });
        sims.push(sim);
        ipmiSimPid = sim.pid;
        bmc = `${sim.host}:${String(sim.port)}`;
        params = {
          address: sim.host,
          port: sim.port,
          username: sim.username,
          password: sim.password,
          cipherSuite: IPMI_SIM_CIPHER_SUITE,
        };
      } else {
        bmc = `${redfish.url}/redfish/v1/Systems/${vm.name}`;
        params = {
          address: redfish.url,
          username: 'admin',
          password: redfishPassword,
          systemId: vm.name,
          verifyTls: false,
        };
      }
      const created = (await call(client, 'POST', '/api/v1/machines', {
        hostname: vm.name,
        macs: [vm.mac],
        commission: false,
        rack: rack.id,
        power: { type: power, params },
      })) as { id: string };
      state.push({
        name: vm.name,
        mac: vm.mac,
        machineId: created.id,
        power,
        bmc,
        qemuPid: vm.pid,
        ipmiSimPid,
        disk: join(vmDir, `${vm.name}.raw`),
      });
      log(`${vm.name} ${vm.mac} → machine ${created.id} (${power} ${bmc})`);
    }
    const labState: LabState = {
      status: 'ready',
      controllerUrl: client.url,
      namespace: net.namespace,
      uplinkHostAddress: uplink.hostAddress,
      supervisorPid: process.pid,
      agentPid: agent.pid ?? -1,
      rackId: rack.id,
      redfishUrl: redfish.url,
      firmware,
      machines: state,
    };
    writeFileSync(labStatePath(dataDir), `${JSON.stringify(labState, null, 2)}\n`);
    log('lab ready');
  } catch (e) {
    log(`lab failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await cleanup();
    return 1;
  }
  const signal = await new Promise<string>((ok) => {
    process.once('SIGTERM', () => ok('SIGTERM'));
    process.once('SIGINT', () => ok('SIGINT'));
  });
  log(`${signal}: stopping the lab`);
  await cleanup();
  return 0;
}

function statusTable(state: LabState, powers: ReadonlyMap<string, string> | undefined): string {
  return table(
    ['MACHINE', 'NAME', 'MAC', 'POWER TYPE', 'BMC', 'POWER'],
    state.machines.map((m) => [
      m.machineId,
      m.name,
      m.mac,
      m.power,
      m.bmc,
      powers?.get(m.machineId) ?? 'off',
    ]),
  );
}

/** `lab status`: the machines with the power state the controller last saw. */
async function labStatus(
  dataDir: string,
  client: ClientOptions,
  out: (text: string) => void,
): Promise<number> {
  const state = readLabState(dataDir);
  if (state === undefined) {
    out(`No lab in ${dataDir}\n`);
    return 1;
  }
  const powers = new Map<string, string>();
  for (const m of state.machines) {
    try {
      const p = await call(client, 'GET', `/api/v1/machines/${m.machineId}/power`);
      powers.set(m.machineId, `${field(p, 'state')} (seen ${field(p, 'seen_at')})`);
    } catch (e) {
      powers.set(m.machineId, `? (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const alive = isAlive(state.supervisorPid) ? 'running' : 'supervisor gone';
  out(`Lab ${state.namespace} (${alive}), rack ${state.rackId}\n`);
  out(statusTable(state, powers));
  return 0;
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` runs a command line containing `needle` (guards against PID reuse). */
function runs(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

/** `lab down`: stops the lab by the PIDs in `lab.json`, removes its namespace, files, machines. */
export async function labDown(
  dataDir: string,
  client: ClientOptions,
  out: (text: string) => void,
): Promise<number> {
  const state = readLabState(dataDir);
  if (state === undefined) {
    out(`No lab in ${dataDir}\n`);
    return 0;
  }
  const pids: [number, string][] = [
    [state.supervisorPid, 'lab'],
    [state.agentPid, 'agent'],
    ...state.machines.flatMap((m): [number, string][] => [
      [m.qemuPid, 'qemu'],
      [m.ipmiSimPid, 'ipmi_sim'],
    ]),
  ];
  const mine = pids.filter(([pid, needle]) => pid > 0 && runs(pid, needle)).map(([pid]) => pid);
  // The supervisor stops its own children; whatever is left gets SIGTERM, then SIGKILL.
  if (mine.includes(state.supervisorPid)) process.kill(state.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (mine.some(isAlive) && Date.now() < deadline) await delay(100);
  for (const pid of mine.filter(isAlive)) process.kill(pid, 'SIGTERM');
  await delay(1000);
  for (const pid of mine.filter(isAlive)) process.kill(pid, 'SIGKILL');
  removeNamespaceSync(state.namespace, []);
  // Its own registrations only: a machine mid-deploy is aborted first, then deleted.
  let removed = 0;
  for (const m of state.machines) {
    const path = `/api/v1/machines/${encodeURIComponent(m.machineId)}`;
    const remove = (): Promise<boolean> =>
      call(client, 'DELETE', path).then(
        () => true,
        () => false,
      );
    let done = await remove();
    if (!done) {
      await call(client, 'POST', `${path}/abort`, { comment: 'ingot lab down' }).catch(() => 0);
      done = await remove();
    }
    if (done) removed++;
    else out(`note: machine ${m.machineId} (${m.name}) is still registered; delete it by hand\n`);
  }
  rmSync(join(dataDir, 'vms'), { recursive: true, force: true });
  rmSync(labStatePath(dataDir), { force: true });
  out(
    `Lab ${state.namespace} is down (${String(removed)} of ${String(state.machines.length)} machines deregistered)\n`,
  );
  return 0;
}
