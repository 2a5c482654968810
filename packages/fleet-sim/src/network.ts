/**
 * The fleet's network: a lab namespace (bridge `br0`, uplink to the host, see @ingot/lab) where
 * the rack agent runs, and a second namespace for the simulator joined to `br0` by a veth pair.
 *
 * ```
 *  host: controller(s) on <uplink host address>
 *    │ uplink veth (172.31.252.0/22)
 *  ingot-lab-<pid>-fleet: br0 172.31.16.1/20 (agent: DHCP 67, TFTP 69, HTTP 5248)
 *    │ veth fleetbr ⇄ fleet0
 *  ingot-lab-<pid>-fleetsim: fleet0 172.31.16.2/20 (BMC), local route 172.31.24.0/21 (AnyIP)
 * ```
 *
 * The fleet subnet is a /20 so 1,000 machines get 1,000 addresses (the dynamic range is
 * 172.31.24.1–172.31.31.254, 2,046 addresses). The simulator namespace routes that whole range
 * to itself (`ip route add local … dev lo`), so any leased address is a usable source address
 * and answers ARP, without one `ip addr add` per lease. Everything is deleted by `cleanup`.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { cleanupStale, createLab, type LabNetwork } from '@ingot/lab/netns.ts';
import { runCommand } from '@ingot/lab/command.ts';

/** Addresses of the fleet segment. */
export const FLEET_SUBNET = '172.31.16.0/20';
export const FLEET_AGENT_ADDRESS = '172.31.16.1';
export const FLEET_SIM_ADDRESS = '172.31.16.2';
export const FLEET_RANGE = { start: '172.31.24.1', end: '172.31.31.254' } as const;
const ANYIP_ROUTE = '172.31.24.0/21';

/** A fleet network; see the module comment. */
export interface FleetNetwork {
  /** The agent's namespace (the lab). */
  readonly lab: LabNetwork;
  /** The simulator's namespace. */
  readonly simNamespace: string;
  /** Where controllers must listen for the agent to reach them (host side of the uplink). */
  readonly controllerHost: string;
  /** Starts a process in the simulator namespace (killed by PID at cleanup). */
  spawnSim(cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  cleanup(): Promise<void>;
}

/** Creates both namespaces and the link between them (needs root). */
export async function createFleetNetwork(tag = 'fleet'): Promise<FleetNetwork> {
  cleanupStale();
  const lab = await createLab({ uplink: true, tag });
  const simNamespace = `${lab.namespace}sim`;
  const pids = new Set<number>();
  const ip = (args: string[]): Promise<unknown> => runCommand('ip', args, { timeoutMs: 10_000 });
  const cleanup = async (): Promise<void> => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    pids.clear();
    await runCommand('ip', ['netns', 'del', simNamespace], {
      allowFailure: true,
      timeoutMs: 10_000,
    });
    await lab.cleanup();
  };
  try {
    await ip(['netns', 'add', simNamespace]);
    await ip(['-n', lab.namespace, 'addr', 'add', `${FLEET_AGENT_ADDRESS}/20`, 'dev', lab.bridge]);
    await ip([
      '-n',
      lab.namespace,
      'link',
      'add',
      'fleetbr',
      'type',
      'veth',
      'peer',
      'name',
      'fleet0',
      'netns',
      simNamespace,
    ]);
    await ip(['-n', lab.namespace, 'link', 'set', 'fleetbr', 'master', lab.bridge, 'up']);
    await ip(['-n', simNamespace, 'link', 'set', 'lo', 'up']);
    await ip(['-n', simNamespace, 'addr', 'add', `${FLEET_SIM_ADDRESS}/20`, 'dev', 'fleet0']);
    await ip(['-n', simNamespace, 'link', 'set', 'fleet0', 'up']);
    await ip(['-n', simNamespace, 'route', 'add', 'local', ANYIP_ROUTE, 'dev', 'lo']);
    // DHCP's limited broadcast (255.255.255.255) needs a route out of fleet0.
    await ip(['-n', simNamespace, 'route', 'add', 'default', 'dev', 'fleet0']);
    // 100 machines at once open many short connections from few addresses.
    await runCommand('ip', [
      'netns',
      'exec',
      simNamespace,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_local_port_range=10000 65000',
    ]);
  } catch (e) {
    await cleanup();
    throw e;
  }
  const uplink = lab.uplink;
  if (uplink === undefined) {
    await cleanup();
    throw new Error('lab without uplink');
  }
  process.once('exit', () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      execFileSync('ip', ['netns', 'del', simNamespace], { stdio: 'ignore' });
    } catch {
      // already removed by cleanup
    }
  });
  return {
    lab,
    simNamespace,
    controllerHost: uplink.hostAddress,
    spawnSim(cmd, args, options = {}) {
      const child = spawn('ip', ['netns', 'exec', simNamespace, cmd, ...args], options);
      const pid = child.pid;
      if (pid !== undefined) {
        pids.add(pid);
        child.once('exit', () => pids.delete(pid));
      }
      return child;
    },
    cleanup,
  };
}
