/**
 * Runs `ra-sender.py` on a boot segment: a router advertisement with router lifetime 0 and no
 * prefix, answered at once to each router solicitation. It ends iPXE's ~13–16 s wait for IPv6
 * autoconfiguration on segments without an IPv6 router, and gives no host a route, an address or
 * DHCPv6. Node cannot send raw ICMPv6, hence the small standard-library Python helper (the same
 * approach as the DHCP device helper). It stays quiet beside a real IPv6 router.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@ingot/common';

/** Path of the helper script. */
export const RA_SENDER_PATH = fileURLToPath(new URL('./ra-sender.py', import.meta.url));

/** A running sender. */
export interface RaSender {
  close(): Promise<void>;
}

/**
 * Starts the sender on `ifName` and restarts it (after 5 s) if it dies, until closed. A sender
 * that cannot start (no python3, no raw-socket permission) is logged, not fatal: boots still work,
 * only slower.
 */
export function startRaSender(ifName: string, logger: Logger): RaSender {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  let child: ChildProcess | undefined;
  let closed = false;
  let restart: NodeJS.Timeout | undefined;
  const launch = (): void => {
    const c = spawn(python, [RA_SENDER_PATH, '--interface', ifName], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let output = '';
    c.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
    c.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
    c.on('error', (error) =>
      logger.warn('router advertisement sender failed to start', { ifName, error }),
    );
    c.on('exit', (code, signal) => {
      if (closed) return;
      logger.warn('router advertisement sender exited; restarting in 5 s', {
        ifName,
        code,
        signal,
        output,
      });
      restart = setTimeout(launch, 5000);
      restart.unref();
    });
  };
  launch();
  return {
    async close() {
      closed = true;
      if (restart !== undefined) clearTimeout(restart);
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const kill = setTimeout(() => c.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(kill);
    },
  };
}
