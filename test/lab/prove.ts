/**
 * Proof of the network boot lab with stand-ins for the agent (dnsmasq for DHCP + TFTP, a Node
 * HTTP server for boot files and events): BIOS and UEFI VMs PXE-boot the busybox test
 * environment, which fetches the squashfs and posts its events; each boot runs without and with
 * the RA sender, and one UEFI boot uses OVMF's own PXE stack (TFTP `ipxe.efi` first, like a real
 * UEFI server). Prints a timeline table and ends with
 * `pxe: bios <s> s, uefi <s> s (DHCP→kernel start)` (with RA, iPXE ROM).
 *
 * Run as root: `node --import tsx test/lab/prove.ts [--only bios|uefi] [--no-baseline] [--keep]
 * [--timeline] [--no-sercon]` (`--timeline` prints each boot's packets, HTTP requests and console
 * lines; `--no-sercon` keeps SeaBIOS/iPXE output off the serial console).
 * Every wait is time-bound; the whole run is capped at 175 s and cleans up after itself.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBootCapture, type BootCapture } from './capture.ts';
import {
  TEST_ENV_FAILED_MARKER,
  TEST_ENV_MARKER,
  buildTestEnvironment,
  testEnvironmentCommandLine,
} from './initramfs.ts';
import { cleanupStale, createLab, type LabNetwork } from '@ingot/lab/netns.ts';
import { startVm, type Firmware } from '@ingot/lab/qemu.ts';
import { startRaSender, type RaSender } from './ra/start-ra-sender.ts';
import {
  bootScript,
  chainScript,
  startDnsmasq,
  startStandInHttp,
  type Dnsmasq,
  type StandInHttp,
} from './stand-in.ts';

const TOTAL_BUDGET_MS = 175_000;

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    'no-baseline': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    timeline: { type: 'boolean', default: false },
    'no-sercon': { type: 'boolean', default: false },
  },
});

interface Scenario {
  readonly firmware: Firmware;
  readonly ra: boolean;
  readonly nicRom: 'ipxe' | 'none';
}

interface Result {
  readonly scenario: Scenario;
  readonly machineId: string;
  /** ms from QEMU start to the first DHCPDISCOVER. */
  readonly firmwareMs: number;
  /** ms from the first DHCPDISCOVER to the per-machine iPXE script request. */
  readonly dhcpToScriptMs: number;
  /** ms from the first DHCPDISCOVER to the kernel request and to the initrd fully sent. */
  readonly dhcpToKernelFetchMs: number;
  readonly dhcpToInitrdSentMs: number;
  /** ms from the first DHCPDISCOVER to the kernel's first console line. */
  readonly dhcpToKernelMs: number;
  /** ms from the first DHCPDISCOVER to INGOT-TEST-ENV-UP. */
  readonly dhcpToUpMs: number;
  readonly routerSolicitations: number;
  readonly tftpFiles: readonly string[];
  readonly steps: readonly string[];
}

const log = (msg: string): void =>
  console.log(`[lab ${new Date().toISOString().slice(11, 23)}] ${msg}`);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

let lab: LabNetwork | undefined;
let work: string | undefined;
const stoppers: (() => Promise<void>)[] = [];

async function cleanup(): Promise<void> {
  for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  stoppers.length = 0;
  await lab?.cleanup();
  if (work !== undefined && !flags.keep) rmSync(work, { recursive: true, force: true });
}

async function bootOnce(
  index: number,
  scenario: Scenario,
  http: StandInHttp,
  capture: BootCapture,
  squashfsSha256: string,
): Promise<Result> {
  const mac = `52:54:00:31:00:${(index + 1).toString(16).padStart(2, '0')}`;
  const label = `${scenario.firmware}${scenario.nicRom === 'none' ? '-native' : ''}-${scenario.ra ? 'ra' : 'nora'}`;
  const machineId = `lab-${label}`;
  const scriptPath = `boot/${mac.replaceAll(':', '-')}.ipxe`;
  writeFileSync(
    join(http.root, scriptPath),
    bootScript({
      baseUrl: http.url,
      kernel: 'vmlinuz',
      initrd: 'initrd.img',
      commandLine: testEnvironmentCommandLine({
        agentUrl: http.url,
        machineId,
        squashfsUrl: `${http.url}/ephemeral.squashfs`,
      }),
    }),
  );
  log(`${label}: starting VM ${mac}`);
  const vm = await startVm({
    lab: lab!,
    name: label,
    mac,
    firmware: scenario.firmware,
    nicRom: scenario.nicRom,
    biosSerialConsole: !flags['no-sercon'],
    workDir: join(work!, 'vms'),
  });
  stoppers.push(() => vm.stop());
  try {
    const up = await Promise.race([
      vm.waitForSerial(new RegExp(TEST_ENV_MARKER), 90_000),
      vm.waitForSerial(new RegExp(TEST_ENV_FAILED_MARKER), 90_000).then((l) => {
        throw new Error(`${label}: ${l.text}`);
      }),
    ]);
    const kernel = await vm.waitForSerial(/Linux version/, 1000);
    await vm.waitForExit(30_000);
    const events = http.eventsOf(machineId);
    const steps = events.map((e) => `${String(e.event['step'])}:${String(e.event['result'])}`);
    const squashfsEvent = events.find((e) => e.event['step'] === 'boot.squashfs');
    if (
      squashfsEvent === undefined ||
      !String(squashfsEvent.event['message']).includes(squashfsSha256) ||
      !steps.includes('install.reboot:info')
    ) {
      throw new Error(`${label}: events missing or wrong: ${JSON.stringify(events)}`);
    }
    const discover = capture.first('dhcp-discover', mac);
    if (discover === undefined) throw new Error(`${label}: no DHCPDISCOVER captured`);
    const script = http.records().find((r) => r.type === 'request' && r.path === `/${scriptPath}`);
    const firstAfter = (type: string, path: string, afterMs: number): number =>
      http.records().find((r) => r.type === type && r.path === path && r.atMs >= afterMs)?.atMs ??
      NaN;
    const macPackets = capture.packets().filter((p) => p.srcMac === mac);
    const result: Result = {
      scenario,
      machineId,
      firmwareMs: discover.atMs - vm.startedAtMs,
      dhcpToScriptMs: (script?.atMs ?? NaN) - discover.atMs,
      dhcpToKernelFetchMs: firstAfter('request', '/vmlinuz', vm.startedAtMs) - discover.atMs,
      dhcpToInitrdSentMs: firstAfter('sent', '/initrd.img', vm.startedAtMs) - discover.atMs,
      dhcpToKernelMs: kernel.atMs - discover.atMs,
      dhcpToUpMs: up.atMs - discover.atMs,
      routerSolicitations: macPackets.filter((p) => p.kind === 'router-solicitation').length,
      tftpFiles: macPackets.filter((p) => p.kind === 'tftp-read').map((p) => p.detail ?? ''),
      steps,
    };
    if (flags.timeline) {
      const t0 = discover.atMs;
      const rows = [
        ...macPackets.map((p) => ({ atMs: p.atMs, what: `${p.kind} ${p.detail ?? ''}` })),
        ...http
          .records()
          .filter((r) => r.atMs >= vm.startedAtMs && (r.type === 'request' || r.type === 'sent'))
          .map((r) => ({ atMs: r.atMs, what: `http ${r.type} ${r.path ?? ''}` })),
        ...vm
          .serialLines()
          .filter((l) => l.text.trim() !== '' && !/^\[ +\d/.test(l.text))
          .map((l) => ({ atMs: l.atMs, what: `serial ${l.text.trim().slice(0, 90)}` })),
        { atMs: kernel.atMs, what: 'serial Linux version …' },
      ].sort((a, b) => a.atMs - b.atMs);
      for (const row of rows) console.log(`  ${seconds(row.atMs - t0).padStart(6)} s  ${row.what}`);
    }
    log(
      `${label}: DHCP→script ${seconds(result.dhcpToScriptMs)} s, →vmlinuz GET ${seconds(result.dhcpToKernelFetchMs)} s, ` +
        `→initrd sent ${seconds(result.dhcpToInitrdSentMs)} s, DHCP→kernel ${seconds(result.dhcpToKernelMs)} s, ` +
        `DHCP→env up ${seconds(result.dhcpToUpMs)} s; events ${steps.join(', ')}`,
    );
    return result;
  } finally {
    await vm.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const stale = cleanupStale();
  if (stale.length > 0) log(`removed stale lab leftovers: ${stale.join(', ')}`);
  const env = await buildTestEnvironment({ log });
  log(
    `test environment ${env.cacheKey.slice(0, 16)} (${env.built ? 'built' : 'cached'}): ${env.kernelPackage}`,
  );

  work = mkdtempSync(join(tmpdir(), 'ingot-lab-proof-'));
  lab = await createLab();
  log(`lab namespace ${lab.namespace}, ${lab.bridge} ${lab.agentAddress}/24`);

  const root = join(work, 'http');
  const http = await startStandInHttp(lab, root);
  stoppers.push(() => http.stop());
  mkdirSync(join(root, 'boot'), { recursive: true });
  copyFileSync(env.kernelPath, join(root, 'vmlinuz'));
  copyFileSync(env.initrdPath, join(root, 'initrd.img'));
  copyFileSync(env.squashfsPath, join(root, 'ephemeral.squashfs'));
  writeFileSync(join(root, 'boot.ipxe'), chainScript(http.url));

  const capture = startBootCapture(lab);
  stoppers.push(() => capture.stop());
  await capture.ready();
  const dnsmasq: Dnsmasq = await startDnsmasq(lab, {
    workDir: join(work, 'dnsmasq'),
    ipxeScriptUrl: `${http.url}/boot.ipxe`,
  });
  stoppers.push(() => dnsmasq.stop());

  const firmwares: Firmware[] =
    flags.only === 'bios' || flags.only === 'uefi' ? [flags.only] : ['bios', 'uefi'];
  const scenarios: Scenario[] = [];
  if (!flags['no-baseline']) {
    for (const firmware of firmwares) scenarios.push({ firmware, ra: false, nicRom: 'ipxe' });
  }
  for (const firmware of firmwares) scenarios.push({ firmware, ra: true, nicRom: 'ipxe' });
  if (firmwares.includes('uefi')) scenarios.push({ firmware: 'uefi', ra: true, nicRom: 'none' });

  const results: Result[] = [];
  let ra: RaSender | undefined;
  for (const [i, scenario] of scenarios.entries()) {
    if (scenario.ra && ra === undefined) {
      ra = await startRaSender(lab);
      stoppers.push(() => ra!.stop());
      log('RA sender running on br0');
    }
    results.push(await bootOnce(i, scenario, http, capture, env.squashfsSha256));
  }

  console.log('');
  console.log(
    'firmware      NIC ROM  RA   fw→DHCP  DHCP→script  DHCP→kernel  DHCP→env-up  RS  TFTP',
  );
  for (const r of results) {
    console.log(
      [
        r.scenario.firmware.padEnd(13),
        (r.scenario.nicRom === 'ipxe' ? 'iPXE' : 'none').padEnd(8),
        (r.scenario.ra ? 'yes' : 'no').padEnd(4),
        `${seconds(r.firmwareMs)} s`.padStart(7),
        `${seconds(r.dhcpToScriptMs)} s`.padStart(12),
        `${seconds(r.dhcpToKernelMs)} s`.padStart(12),
        `${seconds(r.dhcpToUpMs)} s`.padStart(12),
        String(r.routerSolicitations).padStart(3),
        ` ${r.tftpFiles.join(',') || '-'}`,
      ].join(' '),
    );
  }
  console.log(`total ${seconds(Date.now() - started)} s`);
  const pick = (fw: Firmware): string => {
    const r = results.find(
      (x) => x.scenario.firmware === fw && x.scenario.ra && x.scenario.nicRom === 'ipxe',
    );
    return r === undefined ? 'n/a' : seconds(r.dhcpToKernelMs);
  };
  console.log(`pxe: bios ${pick('bios')} s, uefi ${pick('uefi')} s (DHCP→kernel start)`);
}

const budget = setTimeout(() => {
  console.error(`lab proof exceeded ${TOTAL_BUDGET_MS / 1000} s: cleaning up`);
  void cleanup().finally(() => process.exit(2));
}, TOTAL_BUDGET_MS);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });
}
try {
  await main();
  await cleanup();
  clearTimeout(budget);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  await cleanup();
  clearTimeout(budget);
  process.exitCode = 1;
}
