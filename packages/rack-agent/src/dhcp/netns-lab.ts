/**
 * Test support for `*.netns.test.ts`: network namespaces joined by veth pairs, created and
 * removed by the test. Addresses are always inside 172.31.0.0/16 (the lab network rule);
 * nothing is added to the host's own namespace. Needs root and iproute2.
 * @internal
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** A namespace the lab created. */
export interface Namespace {
  readonly name: string;
  /**
   * Runs a command inside the namespace and resolves with its stdout; rejects on a non-zero
   * exit. Asynchronous on purpose: the DHCP server under test shares this event loop.
   */
  run(command: readonly string[], timeoutMs?: number): Promise<string>;
  /** Starts a long-running command inside the namespace. */
  start(command: readonly string[]): ChildProcess;
}

/** A set of namespaces removed together. */
export interface NetnsLab {
  namespace(shortName: string): Namespace;
  /** A veth pair with one end in each namespace; addresses are `a.b.c.d/len` or omitted. */
  link(
    left: { ns: Namespace; ifName: string; address?: string; mac?: string },
    right: { ns: Namespace; ifName: string; address?: string; mac?: string },
  ): void;
  /** Kills the processes it started (by PID) and deletes its namespaces. */
  destroy(): void;
}

const LAB_PREFIX = /^172\.31\.\d{1,3}\.\d{1,3}\/\d{1,2}$/;

/** Whether this process may build namespaces (root with `ip`); netns tests skip otherwise. */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Creates an empty lab; every namespace name carries `tag` and this process's PID. */
export function createNetnsLab(tag: string): NetnsLab {
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const ip = (...args: string[]): void => {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const namespace = (shortName: string): Namespace => {
    const name = `ingot-${tag}-${shortName}-${process.pid}`;
    ip('netns', 'add', name);
    namespaces.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return {
      name,
      run: (command, timeoutMs = 30_000) =>
        new Promise((resolve, reject) => {
          execFile(
            'ip',
            ['netns', 'exec', name, ...command],
            { timeout: timeoutMs, encoding: 'utf8' },
            (error, stdout, stderr) => {
              if (error === null) resolve(stdout);
              else reject(new Error(`${command.join(' ')}: ${error.message}\n${stdout}${stderr}`));
            },
          );
        }),
      start(command) {
        const child = spawn('ip', ['netns', 'exec', name, ...command], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        return child;
      },
    };
  };
  return {
    namespace,
    link(left, right) {
      for (const end of [left, right]) {
        if (end.address !== undefined && !LAB_PREFIX.test(end.address)) {
          throw new Error(`lab addresses must be inside 172.31.0.0/16: ${end.address}`);
        }
      }
      ip(
        'link',
        'add',
        left.ifName,
        'netns',
        left.ns.name,
        'type',
        'veth',
        'peer',
        'name',
        right.ifName,
        'netns',
        right.ns.name,
      );
      for (const end of [left, right]) {
        if (end.mac !== undefined)
          ip('-n', end.ns.name, 'link', 'set', end.ifName, 'address', end.mac);
        if (end.address !== undefined)
          ip('-n', end.ns.name, 'addr', 'add', end.address, 'dev', end.ifName);
        ip('-n', end.ns.name, 'link', 'set', end.ifName, 'up');
      }
    },
    destroy() {
      for (const child of children) {
        if (child.exitCode === null && child.pid !== undefined) {
          try {
            process.kill(child.pid);
          } catch {
            // already gone
          }
        }
      }
      // Deleting a namespace kills what still runs inside it only once nothing holds it;
      // helpers and clients were started by us and are gone by now.
      for (const name of namespaces.reverse()) {
        try {
          ip('netns', 'del', name);
        } catch {
          // already removed
        }
      }
    },
  };
}
