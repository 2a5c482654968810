/**
 * Reproduces the firmware captures beside this file: boots one lab VM per firmware on an isolated
 * bridge (test/lab/: namespace `ingot-lab-<pid>`, `br0` 172.31.0.1/24), records what its MAC sends
 * to port 67 with `tcpdump`, writes the UDP payloads (as pcap-to-bin.py does) and stops the VM.
 *
 * - default: nothing answers, so each client only sends DISCOVERs; the first one is written as
 *   `ipxe-bios-discover.bin` / `ovmf-discover.bin`.
 * - `--request`: the lab's dnsmasq stand-in (test/lab/stand-in.ts) answers, and the first REQUEST
 *   is written too (`ipxe-bios-request.bin` / `ovmf-request.bin`).
 *
 * Run as root from the repository root (needs qemu-system-x86, ipxe-qemu, ovmf, seabios, tcpdump,
 * and dnsmasq for `--request`):
 *
 * ```sh
 * node --import tsx packages/rack-agent/src/dhcp/codec/testdata/capture-firmware.ts [--request] [bios|uefi]
 * ```
 *
 * See README.md beside this file for what each capture holds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
/* eslint-disable import-x/no-relative-packages -- a root-run lab script beside its captures, not
   agent code: @ingot/rack-agent cannot depend on @ingot/e2e (test/), which depends on it. */
import { cleanupStale, createLab, type LabNetwork } from '@ingot/lab/netns.ts';
import { startVm, type Firmware, type VmOptions } from '@ingot/lab/qemu.ts';
import { startDnsmasq } from '../../../../../../test/lab/stand-in.ts';
/* eslint-enable import-x/no-relative-packages */

interface Target {
  readonly name: string;
  readonly firmware: Firmware;
  readonly nicRom: VmOptions['nicRom'];
  readonly mac: string;
  /** SMBIOS system UUID (`-uuid`), which both firmwares send in option 97. */
  readonly uuid: string;
  /** Output file prefix: `<prefix>-discover.bin`, `<prefix>-request.bin`. */
  readonly prefix: string;
}

const TARGETS: readonly Target[] = [
  // SeaBIOS + QEMU's iPXE ROM for virtio-net (Debian ipxe-qemu, /usr/lib/ipxe/qemu/pxe-virtio.rom).
  {
    name: 'bios',
    firmware: 'bios',
    nicRom: 'ipxe',
    mac: '52:54:00:31:00:01',
    uuid: '00112233-4455-6677-8899-aabbccddeeff',
    prefix: 'ipxe-bios',
  },
  // OVMF with no NIC option ROM: EDK2's own PXE base code (UefiPxeBcDxe) sends the DISCOVER.
  {
    name: 'uefi',
    firmware: 'uefi',
    nicRom: 'none',
    mac: '52:54:00:31:00:02',
    uuid: '00112233-4455-6677-8899-aabbccddeeff',
    prefix: 'ovmf',
  },
];

const HERE = fileURLToPath(new URL('.', import.meta.url));
const TIMEOUT_MS = 90_000;
const DISCOVER = 1;
const REQUEST = 3;

/** Every UDP payload in a pcap file (Ethernet link type, IPv4), in capture order. */
function udpPayloads(pcap: Buffer): Buffer[] {
  if (pcap.length < 24) return [];
  const magic = pcap.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (at: number): number =>
    littleEndian ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at);
  if (u32(20) !== 1) throw new Error(`unexpected pcap link type ${u32(20)}`);
  const payloads: Buffer[] = [];
  for (let at = 24; at + 16 <= pcap.length;) {
    const caplen = u32(at + 8);
    if (at + 16 + caplen > pcap.length) break; // tcpdump is still writing this record
    const ip = pcap.subarray(at + 16 + 14, at + 16 + caplen);
    const udp = ip.subarray(((ip[0] ?? 0) & 15) * 4);
    payloads.push(Buffer.from(udp.subarray(8, udp.readUInt16BE(4))));
    at += 16 + caplen;
  }
  return payloads;
}

/** Option 53 (walking the options after the cookie), or undefined. */
function messageType(payload: Buffer): number | undefined {
  for (let at = 240; at + 1 < payload.length;) {
    const code = payload[at] ?? 255;
    if (code === 0) {
      at++;
      continue;
    }
    if (code === 255) return undefined;
    const length = payload[at + 1] ?? 0;
    if (code === 53) return length === 1 ? payload[at + 2] : undefined;
    at += 2 + length;
  }
  return undefined;
}

async function capture(
  lab: LabNetwork,
  target: Target,
  workDir: string,
  wanted: ReadonlyMap<number, string>,
): Promise<void> {
  const pcapPath = join(workDir, `${target.name}.pcap`);
  const tcpdump = lab.spawn(
    'tcpdump',
    [
      '-i',
      lab.bridge,
      '-n',
      '-U',
      '-s',
      '1500',
      '-w',
      pcapPath,
      `udp dst port 67 and ether src ${target.mac}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  tcpdump.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => tcpdump.once('exit', () => resolve()));
  const ready = Date.now() + 5000;
  while (!stderr.includes('listening on')) {
    if (tcpdump.exitCode !== null) throw new Error(`tcpdump exited: ${stderr}`);
    if (Date.now() > ready) throw new Error(`tcpdump not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const vm = await startVm({
    lab,
    name: target.name,
    mac: target.mac,
    firmware: target.firmware,
    nicRom: target.nicRom,
    workDir,
    // A fixed SMBIOS UUID with distinct bytes, so option 97's byte order is visible.
    extraArgs: ['-uuid', target.uuid],
  });
  const startedAt = Date.now();
  const found = new Map<number, Buffer>();
  try {
    const deadline = startedAt + TIMEOUT_MS;
    while (found.size < wanted.size) {
      if (Date.now() > deadline) {
        throw new Error(
          `${target.name}: no ${[...wanted.values()].join(' + ')} within ${TIMEOUT_MS} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
      for (const payload of udpPayloads(readFileSync(pcapPath))) {
        const type = messageType(payload);
        if (type !== undefined && wanted.has(type) && !found.has(type)) {
          found.set(type, payload);
          console.log(
            `${target.name}: type ${type} after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
          );
        }
      }
    }
  } finally {
    await vm.stop();
    if (tcpdump.exitCode === null) tcpdump.kill('SIGTERM');
    await exited;
  }
  for (const [type, suffix] of wanted) {
    const payload = found.get(type);
    if (payload === undefined) continue;
    const output = `${target.prefix}-${suffix}.bin`;
    writeFileSync(join(HERE, output), payload);
    console.log(`${target.name}: ${output} (${payload.length} bytes)`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const withRequest = args.includes('--request');
  const only = args.find((arg) => !arg.startsWith('--'));
  const wanted = new Map<number, string>([[DISCOVER, 'discover']]);
  if (withRequest) wanted.set(REQUEST, 'request');
  cleanupStale();
  const lab = await createLab();
  const workDir = mkdtempSync(join(tmpdir(), 'ingot-dhcp-capture-'));
  try {
    const dnsmasq = withRequest
      ? await startDnsmasq(lab, {
          workDir: join(workDir, 'dnsmasq'),
          ipxeScriptUrl: `http://${lab.agentAddress}:5248/ipxe/script`,
        })
      : undefined;
    for (const target of TARGETS) {
      if (only === undefined || only === target.name) await capture(lab, target, workDir, wanted);
    }
    await dnsmasq?.stop();
  } finally {
    await lab.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
