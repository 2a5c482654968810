/**
 * `ingot lab run`: the lab supervisor that `lab up` starts detached (see `lab.ts`). It owns the
 * lab's namespace, agent, VMs and BMCs, and keeps the in-process parts (Redfish service,
 * forwarders, chassis control) alive until `lab down`.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startIpmiSim, IPMI_SIM_CIPHER_SUITE, type IpmiSim } from '@ingot/lab/bmc/ipmi-sim.ts';
import { createLab, type LabNetwork } from '@ingot/lab/netns.ts';
import { startVm, type Vm } from '@ingot/lab/qemu.ts';
import { createQmpMachine, type RedfishMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService, type RedfishService } from '@ingot/lab/redfish/service.ts';
import type { parse } from './args.ts';
import { hostPort } from './args.ts';
import { call, type ClientOptions } from './client.ts';
import type { labFlags } from './lab-state.ts';
import {
  labStatePath,
  machineCount,
  vmCpus,
  vmDiskGib,
  vmMemoryMib,
  MAIN,
  ROOT,
  type LabMachineState,
  type LabState,
} from './lab-state.ts';

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
export async function labRun(
  dataDir: string,
  values: ReturnType<typeof parse<typeof labFlags>>['values'],
  client: ClientOptions,
): Promise<number> {
  const count = machineCount(values.machines);
  const firmware = values.uefi === true ? 'uefi' : 'bios';
  const memoryMib = vmMemoryMib(values.memory);
  const cpus = vmCpus(values.cpus);
  const diskGib = vmDiskGib(values['disk-size']);
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
      truncateSync(disk, diskGib * 1024 ** 3); // sparse, blank
      const vm = await startVm({
        lab: net,
        name,
        mac: `52:54:00:31:01:${i.toString(16).padStart(2, '0')}`,
        firmware,
        workDir: vmDir,
        memoryMib,
        cpus,
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
      // --enlist: the controller learns the machine when it PXE-boots (as new); the operator
      // then gives it the BMC settings kept here.
      const created =
        values.enlist === true
          ? { id: '' }
          : ((await call(client, 'POST', '/api/v1/machines', {
              hostname: vm.name,
              macs: [vm.mac],
              commission: false,
              rack: rack.id,
              power: { type: power, params },
            })) as { id: string });
      state.push({
        name: vm.name,
        mac: vm.mac,
        machineId: created.id,
        power,
        bmc,
        qemuPid: vm.pid,
        ipmiSimPid,
        disk: join(vmDir, `${vm.name}.raw`),
        ...(values.enlist === true ? { powerParams: params } : {}),
      });
      log(
        `${vm.name} ${vm.mac} → ${created.id === '' ? 'left for enlistment' : `machine ${created.id}`} (${power} ${bmc})`,
      );
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
    // Mode 0600: with --enlist it holds BMC passwords.
    writeFileSync(labStatePath(dataDir), `${JSON.stringify(labState, null, 2)}\n`, {
      mode: 0o600,
    });
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
