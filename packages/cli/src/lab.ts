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
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { removeNamespaceSync } from '@ingot/lab/netns.ts';
import { parse, UsageError } from './args.ts';
import { call, type ClientOptions } from './client.ts';
import { field, table } from './table.ts';
import { labRun } from './lab-supervisor.ts';
import {
  labFlags,
  labStatePath,
  machineCount,
  MAIN,
  ROOT,
  readLabState,
  type LabState,
} from './lab-state.ts';

export { labStatePath, readLabState, type LabMachineState, type LabState } from './lab-state.ts';

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
        'usage: ingot lab up --machines N [--uefi] [--memory MiB] [--cpus N] [--disk-size GiB] [--enlist] [--data DIR] | status | down',
      );
  }
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
    if (m.machineId === '') continue; // left for enlistment: not ours to delete
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
