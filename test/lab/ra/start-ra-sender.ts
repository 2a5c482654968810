/**
 * Runs `ra-sender.py` (see README.md beside it) inside a lab namespace, the way the rack agent
 * will run it on each boot interface.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LabNetwork } from '@ingot/lab/netns.ts';

/** Path of the RA sender script. */
export const RA_SENDER_SCRIPT = fileURLToPath(
  new URL('../../../packages/rack-agent/src/net/ra-sender.py', import.meta.url),
);

/** A running RA sender. */
export interface RaSender {
  readonly pid: number;
  /** Its stdout/stderr so far. */
  output(): string;
  /** SIGTERM by PID (SIGKILL after 2 s); resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the RA sender on `iface` (default the lab bridge) inside the lab namespace.
 *
 * @throws when it does not print `ready` within 10 s (e.g. no python3, IPv6 disabled).
 */
export async function startRaSender(
  lab: LabNetwork,
  options: { iface?: string; intervalSeconds?: number; verbose?: boolean } = {},
): Promise<RaSender> {
  // Debian's interpreter, not a user's pyenv shim that may sit first in PATH.
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = lab.spawn(
    python,
    [
      RA_SENDER_SCRIPT,
      '--interface',
      options.iface ?? lab.bridge,
      '--interval',
      String(options.intervalSeconds ?? 30),
      ...(options.verbose === true ? ['--verbose'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('ra-sender did not start');
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 10_000;
  while (!out.includes('ra-sender: ready')) {
    if (child.exitCode !== null) throw new Error(`ra-sender exited: ${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`ra-sender not ready within 10 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid, output: () => out, stop };
}
