/**
 * Stand-ins for the agent's boot services, used only by the lab proof (`prove.ts`) until the
 * agent's DHCP, TFTP and HTTP boot land: Debian's dnsmasq for DHCP + TFTP, and a small Node HTTP
 * server (`stand-in/http-server.ts`) that serves iPXE scripts and images and records the status
 * events the test environment posts. Both run inside the lab namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LabNetwork } from '@ingot/lab/netns.ts';

const LAB_DIR = import.meta.dirname;
const REPO_ROOT = resolve(LAB_DIR, '..', '..');

/** What the stand-in HTTP server reported. */
export interface HttpRecord {
  readonly type: 'listening' | 'request' | 'sent' | 'event';
  readonly atMs: number;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly bytes?: number;
  readonly remote?: string;
  /** For `event`: the posted JSON body. */
  readonly event?: unknown;
}

/** A running stand-in HTTP server. */
export interface StandInHttp {
  /** `http://172.31.0.1:<port>`. */
  readonly url: string;
  /** The served directory: write scripts and images here. */
  readonly root: string;
  records(): readonly HttpRecord[];
  /** Posted machine events (`POST /api/v1/machine-events` bodies) of one machine, in order. */
  eventsOf(machineId: string): readonly { atMs: number; event: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/**
 * Starts the stand-in HTTP server in the lab on `lab.agentAddress:port`, serving `root`.
 *
 * @throws when it does not report `listening` within 15 s.
 */
export async function startStandInHttp(
  lab: LabNetwork,
  root: string,
  port = 5248,
): Promise<StandInHttp> {
  mkdirSync(root, { recursive: true });
  const child = lab.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(LAB_DIR, 'stand-in', 'http-server.ts'),
      '--root',
      root,
      '--address',
      lab.agentAddress,
      '--port',
      String(port),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const records: HttpRecord[] = [];
  let partial = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() !== '') records.push(JSON.parse(line) as HttpRecord);
    }
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitUntil(
    () => records.some((r) => r.type === 'listening'),
    child,
    15_000,
    () => `stand-in HTTP server: ${stderr}`,
  );
  return {
    url: `http://${lab.agentAddress}:${port}`,
    root,
    records: () => records,
    eventsOf(machineId) {
      return records.flatMap((r) => {
        if (r.type !== 'event' || typeof r.event !== 'object' || r.event === null) return [];
        const event = r.event as Record<string, unknown>;
        return event['machine_id'] === machineId ? [{ atMs: r.atMs, event }] : [];
      });
    },
    stop: () => stopChild(child),
  };
}

/** Options of {@link startDnsmasq}. */
export interface DnsmasqOptions {
  /** Work directory: TFTP root, lease file (created). */
  readonly workDir: string;
  /** URL handed to iPXE clients (user class `iPXE` / option 175) as their boot file. */
  readonly ipxeScriptUrl: string;
  /** 172.31.0.100–172.31.0.199 by default. */
  readonly range?: readonly [string, string];
}

/** A running dnsmasq. */
export interface Dnsmasq {
  /** dnsmasq's log (DHCP transactions with `log-dhcp`, TFTP transfers). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's dnsmasq on the lab bridge as the reference DHCP + TFTP server: non-iPXE PXE
 * clients get `undionly.kpxe` (BIOS) or `ipxe.efi` (x86-64 UEFI, option 93 = 7 or 9) over TFTP;
 * iPXE clients get `ipxeScriptUrl`. The iPXE waits a server controls are switched off: `no-ping`
 * (dnsmasq's 3 s ping check) and iPXE option 175.176 `no-pxedhcp` = 1 (the 3 s ProxyDHCP wait).
 *
 * @throws when dnsmasq exits or does not start serving within 10 s.
 */
export async function startDnsmasq(lab: LabNetwork, options: DnsmasqOptions): Promise<Dnsmasq> {
  const tftpRoot = join(options.workDir, 'tftp');
  mkdirSync(tftpRoot, { recursive: true });
  copyFileSync('/usr/lib/ipxe/undionly.kpxe', join(tftpRoot, 'undionly.kpxe'));
  copyFileSync('/usr/lib/ipxe/ipxe.efi', join(tftpRoot, 'ipxe.efi'));
  const [low, high] = options.range ?? ['172.31.0.100', '172.31.0.199'];
  const conf = [
    'port=0', // no DNS
    `interface=${lab.bridge}`,
    'bind-interfaces',
    `dhcp-range=${low},${high},255.255.255.0,1h`,
    `dhcp-leasefile=${join(options.workDir, 'dnsmasq.leases')}`,
    'dhcp-authoritative',
    'no-ping',
    'log-dhcp',
    'enable-tftp',
    `tftp-root=${tftpRoot}`,
    'dhcp-match=set:ipxe,175',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
    `dhcp-boot=tag:ipxe,${options.ipxeScriptUrl}`,
    'dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi',
    'dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe',
    'dhcp-option=tag:ipxe,encap:175,176,1b',
    '',
  ].join('\n');
  const confPath = join(options.workDir, 'dnsmasq.conf');
  writeFileSync(confPath, conf);
  const child = lab.spawn(
    'dnsmasq',
    [
      `--conf-file=${confPath}`,
      '--keep-in-foreground',
      '--log-facility=-',
      '--user=root',
      '--group=root',
      `--pid-file=${join(options.workDir, 'dnsmasq.pid')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await waitUntil(
    () => /DHCP, IP range/.test(log),
    child,
    10_000,
    () => `dnsmasq: ${log}`,
  );
  return { log: () => log, stop: () => stopChild(child) };
}

/**
 * The first script iPXE fetches from dnsmasq's generic boot URL: chains to the per-MAC script
 * (`boot/<mac with hyphens>.ipxe`), the role the agent's per-machine rendering plays.
 */
export function chainScript(baseUrl: string): string {
  return ['#!ipxe', `chain ${baseUrl}/boot/\${net0/mac:hexhyp}.ipxe`, ''].join('\n');
}

/** A per-machine iPXE script that boots the test environment. */
export function bootScript(params: {
  baseUrl: string;
  kernel: string;
  initrd: string;
  commandLine: string;
}): string {
  return [
    '#!ipxe',
    `kernel ${params.baseUrl}/${params.kernel} ${params.commandLine}`,
    `initrd --name initrd.img ${params.baseUrl}/${params.initrd}`,
    'boot',
    '',
  ].join('\n');
}

async function waitUntil(
  ok: () => boolean,
  child: ChildProcess,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${String(child.exitCode ?? child.signalCode)}): ${describe()}`);
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`not ready within ${timeoutMs} ms: ${describe()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}
