/**
 * The installer's VM test bench: the metadata stand-in (`metadata-stand-in.ts`) running inside a
 * lab namespace, its records, and helpers to boot a VM straight into the ephemeral environment
 * (`-kernel`/`-initrd`/`-append`, no PXE) or from its disk.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LabNetwork } from '@ingot/lab/netns.ts';
import type { StandInState } from './metadata-stand-in.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** One JSON line the stand-in printed. */
export interface StandInRecord {
  readonly type:
    'listening' | 'request' | 'status' | 'commissioning' | 'auth-failed' | 'refused' | 'error';
  readonly atMs: number;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly machine?: string;
  readonly reason?: string;
  readonly body?: unknown;
}

/** A reporting event as posted (deploy-contract.md "Reporting event"). */
export interface PostedEvent {
  readonly event_type: 'start' | 'finish';
  readonly origin: string;
  readonly name: string;
  readonly description: string;
  readonly result?: 'SUCCESS' | 'FAIL' | 'WARN';
  readonly timestamp: number;
  readonly progress?: { readonly done: number; readonly total: number };
  readonly files?: readonly { path: string; encoding: string; content: string }[];
}

/** A running stand-in. */
export interface MetadataStandIn {
  /** `http://172.31.0.1:5248`. */
  readonly url: string;
  /** Replaces the state the stand-in serves (it re-reads it per request). */
  setState(state: StandInState): void;
  records(): readonly StandInRecord[];
  /** Status events posted for `machine`, with when they arrived. */
  events(machine: string): { atMs: number; event: PostedEvent }[];
  stop(): Promise<void>;
}

/**
 * Starts the stand-in on `lab.agentAddress:5248` inside the lab.
 *
 * @throws when it is not listening within 15 s.
 */
export async function startMetadataStandIn(
  lab: LabNetwork,
  workDir: string,
  state: StandInState,
): Promise<MetadataStandIn> {
  const statePath = join(workDir, 'stand-in-state.json');
  const setState = (s: StandInState): void => writeFileSync(statePath, JSON.stringify(s));
  setState(state);
  const child = lab.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'test', 'harness', 'metadata-stand-in.ts'),
      '--state',
      statePath,
      '--address',
      lab.agentAddress,
      '--port',
      '5248',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const records: StandInRecord[] = [];
  let partial = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts)
      if (line.trim() !== '') records.push(JSON.parse(line) as StandInRecord);
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!records.some((r) => r.type === 'listening')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`metadata stand-in did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://${lab.agentAddress}:5248`,
    setState,
    records: () => records,
    events: (machine) =>
      records
        .filter((r) => r.type === 'status' && r.machine === machine)
        .map((r) => ({ atMs: r.atMs, event: r.body as PostedEvent })),
    stop: () => stopChild(child),
  };
}

/** The kernel command line Ingot's boot configs give the ephemeral environment. */
export function ephemeralCommandLine(p: {
  agentUrl: string;
  /** Another purpose makes the initramfs fail (`boot.squashfs`) once it has the squashfs. */
  purpose: 'install' | 'commission' | 'erase' | 'no-such-purpose';
  machineId: string;
  squashfsSha256: string;
  token: string;
}): string {
  return [
    'console=ttyS0,115200',
    'panic=1',
    `ingot.purpose=${p.purpose}`,
    `ingot.machine=${p.machineId}`,
    `ingot.agent=${p.agentUrl}`,
    `ingot.squashfs=${p.agentUrl}/images/${p.squashfsSha256}`,
    `ingot.metadata=${p.agentUrl}/MAAS/metadata/`,
    `ingot.token=${p.token}`,
  ].join(' ');
}

/** A token of the contract's form: three parts of 24 `[A-Za-z0-9]`. */
export function makeToken(seed: string): string {
  const part = (n: number): string =>
    Buffer.from(`${seed}-${n}-ingot-installer-test-token`).toString('hex').slice(0, 24);
  return `${part(1)}:${part(2)}:${part(3)}`;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}
