/**
 * The lab network: one network namespace `ingot-lab-<pid>[-<tag>]` holding a bridge `br0`
 * (172.31.0.1/24, the agent's side of the boot segment) and one tap device per VM. Everything a
 * test sends stays inside it. An optional uplink veth joins the namespace to the host (a /30 out of
 * 172.31.252.0/22) so a controller outside can reach an agent inside, and the reverse.
 *
 * Cleanup is synchronous and idempotent: it kills the processes started in the namespace (by PID),
 * then deletes the namespace, which takes the bridge, taps and veth pair with it. It also runs on
 * process exit, and {@link cleanupStale} removes leftovers of test processes that died.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { runCommand, type CommandOptions, type CommandResult } from './command.ts';

/** Every lab namespace name starts with this, followed by the owning process id. */
export const LAB_PREFIX = 'ingot-lab-';
/** The boot segment inside each lab namespace. */
export const LAB_SUBNET = '172.31.0.0/24';
/** The agent's address on `br0`. */
export const LAB_AGENT_ADDRESS = '172.31.0.1';
/** The bridge carrying the boot segment. */
export const LAB_BRIDGE = 'br0';

/** The host ⇄ namespace link made with `createLab({ uplink: true })`. */
export interface LabUplink {
  /** Host side interface name. */
  readonly hostInterface: string;
  /** Address of the host side (reach the namespace's processes from the host through it). */
  readonly hostAddress: string;
  /** Address of the namespace side (host processes listen here for agents in the lab). */
  readonly labAddress: string;
}

/** A lab network; see the module comment. */
export interface LabNetwork {
  /** Namespace name, e.g. `ingot-lab-4242`. */
  readonly namespace: string;
  readonly bridge: string;
  /** 172.31.0.1, on `br0`. */
  readonly agentAddress: string;
  /** 172.31.0.0/24. */
  readonly subnet: string;
  readonly uplink: LabUplink | undefined;
  /**
   * Creates a tap device attached to `br0` and returns its name (`tap0`, `tap1`, …). A VM opens it
   * with `-netdev tap,ifname=<name>,script=no,downscript=no`, from inside the namespace.
   */
  addTap(): Promise<string>;
  /** Runs a command inside the namespace to completion (time-bound, see {@link runCommand}). */
  exec(cmd: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /**
   * Starts a long-running command inside the namespace (`ip netns exec`, which execs in place, so
   * the child's PID is the command's PID). The process is killed at {@link LabNetwork.cleanup}.
   */
  spawn(cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills the lab's processes by PID and deletes the namespace. Idempotent, never throws. */
  cleanup(): Promise<void>;
}

/** Options of {@link createLab}. */
export interface CreateLabOptions {
  /** Suffix for a second lab in the same process: `ingot-lab-<pid>-<tag>`. */
  readonly tag?: string;
  /** Also create the host ⇄ namespace veth link. */
  readonly uplink?: boolean;
}

/**
 * Creates a lab network (needs root: `ip netns`). On failure, whatever was created is removed
 * before the error is thrown.
 *
 * @throws when the namespace already exists or an `ip` command fails.
 */
export async function createLab(options: CreateLabOptions = {}): Promise<LabNetwork> {
  const namespace = `${LAB_PREFIX}${process.pid}${options.tag === undefined ? '' : `-${options.tag}`}`;
  if (namespace.length > 64) throw new Error(`namespace name too long: ${namespace}`);
  const pids = new Set<number>();
  let taps = 0;
  let cleaned = false;

  const cleanupSync = (): void => {
    if (cleaned) return;
    cleaned = true;
    process.off('exit', cleanupSync);
    removeNamespaceSync(namespace, [...pids]);
  };
  process.on('exit', cleanupSync);

  const ip = async (args: readonly string[]): Promise<void> => {
    await runCommand('ip', args, { timeoutMs: 10_000 });
  };
  const nsExec = (cmd: string, args: readonly string[], opts?: CommandOptions) =>
    runCommand('ip', ['netns', 'exec', namespace, cmd, ...args], { timeoutMs: 30_000, ...opts });

  let uplink: LabUplink | undefined;
  try {
    await ip(['netns', 'add', namespace]);
    // Tentative (DAD) link-local addresses would delay the RA sender by ~1 s; no one else is here.
    await nsExec('sysctl', ['-q', '-w', 'net.ipv6.conf.default.accept_dad=0']);
    await nsExec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0']);
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    // No STP, no forward delay: a port forwards as soon as the VM opens its tap. No multicast
    // snooping: router solicitations and advertisements must reach every port.
    await ip([
      '-n',
      namespace,
      'link',
      'add',
      LAB_BRIDGE,
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    ]);
    await ip(['-n', namespace, 'addr', 'add', `${LAB_AGENT_ADDRESS}/24`, 'dev', LAB_BRIDGE]);
    await ip(['-n', namespace, 'link', 'set', LAB_BRIDGE, 'up']);
    if (options.uplink === true) uplink = await createUplink(namespace);
  } catch (e) {
    cleanupSync();
    throw e;
  }

  return {
    namespace,
    bridge: LAB_BRIDGE,
    agentAddress: LAB_AGENT_ADDRESS,
    subnet: LAB_SUBNET,
    uplink,
    async addTap() {
      const name = `tap${taps++}`;
      await ip(['-n', namespace, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
      await ip(['-n', namespace, 'link', 'set', name, 'master', LAB_BRIDGE, 'up']);
      return name;
    },
    exec: nsExec,
    spawn(cmd, args, spawnOptions = {}) {
      const child = spawn('ip', ['netns', 'exec', namespace, cmd, ...args], spawnOptions);
      if (child.pid !== undefined) {
        const pid = child.pid;
        pids.add(pid);
        child.once('exit', () => pids.delete(pid));
      }
      return child;
    },
    cleanup() {
      cleanupSync();
      return Promise.resolve();
    },
  };
}

/**
 * Removes lab namespaces (name prefix {@link LAB_PREFIX}) whose owning process is gone, killing
 * (by PID) the processes still running inside them. Never touches a live process's lab.
 *
 * @returns the names of the namespaces it removed.
 */
export function cleanupStale(): string[] {
  const removed: string[] = [];
  for (const namespace of listNamespaces()) {
    const owner = Number(/^ingot-lab-(\d+)/.exec(namespace)?.[1]);
    if (!Number.isInteger(owner) || isAlive(owner)) continue;
    removeNamespaceSync(namespace, []);
    removed.push(namespace);
  }
  // Host ends of uplinks whose namespace went away without their owner cleaning up.
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const match of links.matchAll(/^\d+: (il(\d+)h\w*)[@:]/gm)) {
    if (!isAlive(Number(match[2]))) {
      deleteHostLink(match[1]!);
      removed.push(match[1]!);
    }
  }
  return removed;
}

async function createUplink(namespace: string): Promise<LabUplink> {
  const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  // 256 /30 links in 172.31.252.0/22; start from the pid so parallel labs rarely probe twice.
  for (let i = 0; i < 256; i++) {
    const slot = (process.pid + i) % 256;
    const base = (252 << 8) + slot * 4; // offset inside 172.31.0.0/16
    const addr = (n: number): string => `172.31.${(base + n) >> 8}.${(base + n) & 255}`;
    if (used.includes(` ${addr(1)}/`) || used.includes(` ${addr(2)}/`)) continue;
    const hostInterface = uplinkName(namespace);
    await runCommand('ip', [
      'link',
      'add',
      hostInterface,
      'type',
      'veth',
      'peer',
      'name',
      'uplink0',
      'netns',
      namespace,
    ]);
    await runCommand('ip', ['addr', 'add', `${addr(1)}/30`, 'dev', hostInterface]);
    await runCommand('ip', ['link', 'set', hostInterface, 'up']);
    await runCommand('ip', ['-n', namespace, 'addr', 'add', `${addr(2)}/30`, 'dev', 'uplink0']);
    await runCommand('ip', ['-n', namespace, 'link', 'set', 'uplink0', 'up']);
    return { hostInterface, hostAddress: addr(1), labAddress: addr(2) };
  }
  throw new Error('no free /30 for the lab uplink in 172.31.252.0/22');
}

/** Host end of a lab's uplink: `il<pid>h[<tag>]`, at most 15 characters (IFNAMSIZ - 1). */
function uplinkName(namespace: string): string {
  const [pid, ...tag] = namespace.slice(LAB_PREFIX.length).split('-');
  return `il${pid ?? ''}h${tag.join('')}`.slice(0, 15);
}

function deleteHostLink(name: string): void {
  try {
    execFileSync('ip', ['link', 'del', name], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // not there
  }
}

function listNamespaces(): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => n.startsWith(LAB_PREFIX));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function nsPids(namespace: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', namespace], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
  } catch {
    return [];
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * SIGTERM the given PIDs and every PID in the namespace, SIGKILL after 2 s, delete it and the
 * host end of its uplink. Idempotent; used by `ingot lab down` for a lab another process made.
 */
export function removeNamespaceSync(namespace: string, pids: readonly number[]): void {
  const targets = new Set([...pids, ...nsPids(namespace)]);
  for (const pid of targets) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 2000;
  while ([...targets].some(isAlive) && Date.now() < deadline) sleepSync(50);
  for (const pid of [...targets, ...nsPids(namespace)]) signal(pid, 'SIGKILL');
  // The kernel tears a namespace down asynchronously; delete the host end of the uplink now.
  deleteHostLink(uplinkName(namespace));
  try {
    execFileSync('ip', ['netns', 'del', namespace], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // already gone
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited already
  }
}
