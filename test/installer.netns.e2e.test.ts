import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_CACHE } from '@ingot/images/cache.ts';
import { buildEphemeralImage } from '@ingot/images/ephemeral.ts';
import type { BuiltImage } from '@ingot/images/parts.ts';
import { buildTinyImage, TINY_UP_MARKER } from '@ingot/images/tiny.ts';
import { cleanupStale, createLab, type LabNetwork } from '@ingot/lab/netns.ts';
import { startVm, type Vm } from '@ingot/lab/qemu.ts';
import {
  ephemeralCommandLine,
  makeToken,
  startMetadataStandIn,
  type MetadataStandIn,
  type PostedEvent,
} from './harness/installer-lab.ts';
import type { StandInMachine } from './harness/metadata-stand-in.ts';
import { startDnsmasq, type Dnsmasq } from './lab/stand-in.ts';

const MIB = 1024 * 1024;
const MEMORY_MIB = 1024;
const DISK_BYTES = 2048 * MIB;
const timings: Record<string, string> = {};

let work = '';
let lab: LabNetwork;
let dnsmasq: Dnsmasq;
let standIn: MetadataStandIn;
let ephemeral: BuiltImage;
let tiny: BuiltImage;
const vms: Vm[] = [];

const file = (image: BuiltImage, role: string): { sha256: string; size_bytes: number } => {
  const f = image.manifest.files.find((x) => x.role === role);
  if (f === undefined) throw new Error(`${image.manifest.name} has no ${role}`);
  return f;
};
const path = (image: BuiltImage, role: string): string =>
  join(image.dir, image.manifest.files.find((x) => x.role === role)!.name);

/** The install config of the contract for the tiny image (cloud_init is filled in by the stand-in). */
function machine(id: string, overrides: Record<string, unknown> = {}): StandInMachine {
  const root = file(tiny, 'root-image');
  return {
    token: makeToken(id),
    hostname: `${id}-host`,
    publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIngotTestKeyOnly test@ingot'],
    userData: '#!/bin/sh\necho "USER-DATA-RAN $(cat /etc/ingot-test) $(cat /etc/motd)"\n',
    installConfig: {
      machine_id: id,
      hostname: `${id}-host`,
      purpose: 'install',
      image: {
        os: 'ingot',
        release: 'tiny',
        arch: 'amd64',
        root_image: {
          path: `images/${root.sha256}`,
          sha256: root.sha256,
          size_bytes: root.size_bytes,
          format: 'squashfs',
        },
        kernel: {
          path: `images/${file(tiny, 'kernel').sha256}`,
          sha256: file(tiny, 'kernel').sha256,
        },
        initrd: {
          path: `images/${file(tiny, 'initrd').sha256}`,
          sha256: file(tiny, 'initrd').sha256,
        },
      },
      storage: { disk: 'auto', layout: 'flat' },
      erase: 'quick',
      ssh_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIngotTestKeyOnly test@ingot'],
      customisation: {
        packages: ['htop'],
        commands: ['echo customised > /etc/motd'],
        files: [
          {
            path: '/etc/ingot-test',
            content_base64: Buffer.from('hello').toString('base64'),
            mode: '0600',
          },
        ],
      },
      ...overrides,
    },
  };
}

function serve(
  machines: Record<string, StandInMachine>,
  refuseFirst: Record<string, number> = {},
): void {
  const files: Record<string, string> = {};
  for (const image of [ephemeral, tiny]) {
    for (const f of image.manifest.files) files[f.sha256] = join(image.dir, f.name);
  }
  standIn.setState({ files, machines, refuseFirst });
}

/** Boots the ephemeral environment with `purpose` and waits for the VM to power off or reboot. */
async function bootEphemeral(
  name: string,
  m: { id: string; token: string },
  purpose: Parameters<typeof ephemeralCommandLine>[0]['purpose'],
  disk: { path: string; sizeBytes: number; serial?: string },
  mac: string,
): Promise<Vm> {
  const started = Date.now();
  const vm = await startVm({
    lab,
    name,
    mac,
    firmware: 'bios',
    nicRom: 'none',
    workDir: work,
    memoryMib: MEMORY_MIB,
    cpus: 2,
    disk,
    extraArgs: [
      '-kernel',
      path(ephemeral, 'kernel'),
      '-initrd',
      path(ephemeral, 'initrd'),
      '-append',
      ephemeralCommandLine({
        agentUrl: standIn.url,
        purpose,
        machineId: m.id,
        squashfsSha256: file(ephemeral, 'squashfs').sha256,
        token: m.token,
      }),
    ],
  });
  vms.push(vm);
  await vm.waitForExit(240_000);
  timings[name] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  return vm;
}

/** start/finish pairs without the progress updates. */
const steps = (events: readonly { event: PostedEvent }[]): string[] =>
  events
    .filter((e) => e.event.progress === undefined || e.event.event_type === 'finish')
    .map(
      (e) =>
        `${e.event.name} ${e.event.event_type}${e.event.result === undefined ? '' : ` ${e.event.result}`}`,
    );

function readBytes(p: string, offset: number, length: number): Buffer {
  const fd = openSync(p, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

const hasPartitionTable = (p: string): boolean => {
  const size = statSync(p).size;
  const mbr = readBytes(p, 510, 2);
  return (
    (mbr[0] === 0x55 && mbr[1] === 0xaa) ||
    readBytes(p, 512, 8).toString('latin1') === 'EFI PART' ||
    readBytes(p, size - 512, 8).toString('latin1') === 'EFI PART'
  );
};

beforeAll(async () => {
  cleanupStale();
  const cacheDir = process.env['INGOT_IMAGE_CACHE'] ?? DEFAULT_IMAGE_CACHE;
  const log = (m: string): void => console.log(`images: ${m}`);
  ephemeral = await buildEphemeralImage({ cacheDir, log });
  tiny = await buildTinyImage({ cacheDir, log });
  timings['build ephemeral'] =
    `${(ephemeral.elapsedMs / 1000).toFixed(1)} s (${ephemeral.built ? 'built' : 'cached'})`;
  timings['build tiny'] =
    `${(tiny.elapsedMs / 1000).toFixed(1)} s (${tiny.built ? 'built' : 'cached'})`;
  work = mkdtempSync(join(tmpdir(), 'ingot-installer-e2e-'));
  lab = await createLab();
  dnsmasq = await startDnsmasq(lab, {
    workDir: join(work, 'dnsmasq'),
    ipxeScriptUrl: 'http://172.31.0.1:5248/none',
  });
  standIn = await startMetadataStandIn(lab, work, { files: {}, machines: {} });
}, 1_800_000);

afterAll(async () => {
  for (const vm of vms) await vm.stop();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
  await standIn?.stop();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
  await dnsmasq?.stop();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
  await lab?.cleanup();
  if (work !== '') rmSync(work, { recursive: true, force: true });
  console.log(`installer e2e timings: ${JSON.stringify(timings, null, 2)}`);
});

describe('the installer in the ephemeral environment (QEMU TCG, BIOS)', () => {
  const disk = (): { path: string; sizeBytes: number; serial: string } => ({
    path: join(work, 'disk.raw'),
    sizeBytes: DISK_BYTES,
    serial: 'INGOT-DISK-1',
  });

  it("commission posts the VM's CPUs, memory, disk and MAC, then powers off", async () => {
    const m = machine('m-commission');
    serve({ 'm-commission': m });
    await bootEphemeral(
      'commission',
      { id: 'm-commission', token: m.token },
      'commission',
      { ...disk(), path: join(work, 'commission.raw') },
      '52:54:00:31:00:11',
    );
    const facts = standIn
      .records()
      .filter((r) => r.type === 'commissioning' && r.machine === 'm-commission');
    expect(facts).toHaveLength(1);
    expect(facts[0]!.body).toEqual({
      cpu_count: 2,
      memory_mib: MEMORY_MIB,
      disks: [{ name: 'vda', size_bytes: DISK_BYTES, model: '', serial: 'INGOT-DISK-1' }],
      nics: [{ name: 'eth0', mac: '52:54:00:31:00:11' }],
    });
    expect(steps(standIn.events('m-commission'))).toEqual([
      'installer.config start',
      'installer.config finish SUCCESS',
      'commission start',
      'commission finish SUCCESS',
    ]);
    expect(standIn.records().filter((r) => r.type === 'auth-failed')).toEqual([]);
  });

  it('install writes the tiny image, reports every step in order with progress, and reboots', async () => {
    const m = machine('m-install');
    serve({ 'm-install': m });
    const vm = await bootEphemeral(
      'install',
      { id: 'm-install', token: m.token },
      'install',
      disk(),
      '52:54:00:31:00:12',
    );
    const events = standIn.events('m-install');
    expect(steps(events)).toEqual([
      'installer.config start',
      'installer.config finish SUCCESS',
      'install.storage start',
      'install.storage finish SUCCESS',
      'install.image start',
      'install.image finish SUCCESS',
      'install.bootloader start',
      'install.bootloader finish SUCCESS',
      'install.cloud-init start',
      'install.cloud-init finish SUCCESS',
      'install.customise start',
      // tiny has no apt-get: the package is skipped with a warning, files and commands applied
      'install.customise finish WARN',
      'install.reboot start',
      'install.reboot finish SUCCESS',
    ]);
    const progress = events.filter(
      (e) => e.event.name === 'install.image' && e.event.progress !== undefined,
    );
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const p of progress)
      expect(p.event.progress!.done).toBeLessThanOrEqual(p.event.progress!.total);
    expect(
      progress.some((p) => p.event.progress!.total === file(tiny, 'root-image').size_bytes),
    ).toBe(true);
    expect(progress.at(-1)!.event.progress!.done).toBe(progress.at(-1)!.event.progress!.total);
    expect(
      events.find((e) => e.event.name === 'install.storage' && e.event.event_type === 'finish')!
        .event.description,
    ).toMatch(/GPT on \/dev\/vda: BIOS boot 1 MiB, ESP 64 MiB, root \d+ MiB/);
    expect(
      events.find((e) => e.event.name === 'install.customise' && e.event.result === 'WARN')!.event
        .description,
    ).toMatch(/packages skipped \(htop\): the image has no apt-get/);
    expect(vm.serialLines().some((l) => /ingot-installer: \[[0-9.]+\] reboot$/.test(l.text))).toBe(
      true,
    );
    expect(hasPartitionTable(disk().path)).toBe(true);
    // The token is a secret: past the kernel's echo of its command line, the console never shows it.
    const [, , secret] = m.token.split(':');
    expect(
      vm.serialLines().some((l) => l.text.includes(secret!) && !/command line/i.test(l.text)),
    ).toBe(false);
  });

  it('the installed disk boots the tiny image, which fetches user-data, runs it and reports', async () => {
    const m = machine('m-install');
    serve({ 'm-install': m });
    const started = Date.now();
    const vm = await startVm({
      lab,
      name: 'disk-boot',
      mac: '52:54:00:31:00:12',
      firmware: 'bios',
      nicRom: 'none',
      workDir: work,
      memoryMib: 256,
      disk: disk(),
    });
    vms.push(vm);
    const up = await vm.waitForSerial(new RegExp(TINY_UP_MARKER), 120_000);
    timings['disk boot → user-data ran'] = `${((up.atMs - started) / 1000).toFixed(1)} s`;
    expect(up.text).toContain('instance-id=m-install user-data ran, exit 0');
    expect(vm.serialLines().some((l) => l.text.includes('USER-DATA-RAN hello customised'))).toBe(
      true,
    );
    const userData = standIn
      .records()
      .filter((r) => r.type === 'request' && r.path === '/MAAS/metadata/latest/user-data');
    expect(userData.map((r) => r.status)).toEqual([200]);
    const tinyEvents = standIn.events('m-install').filter((e) => e.event.origin === 'ingot-tiny');
    expect(tinyEvents.map((e) => `${e.event.event_type} ${e.event.result ?? ''}`)).toEqual([
      'start ',
      'finish SUCCESS',
    ]);
    await vm.stop();
  });

  it('erase leaves no partition table', async () => {
    const m = machine('m-install', { purpose: 'erase', erase: 'quick' });
    serve({ 'm-install': m });
    expect(hasPartitionTable(disk().path)).toBe(true);
    await bootEphemeral(
      'erase',
      { id: 'm-install', token: m.token },
      'erase',
      disk(),
      '52:54:00:31:00:12',
    );
    expect(hasPartitionTable(disk().path)).toBe(false);
    expect(readBytes(disk().path, 0, 1024 * 1024).every((b) => b === 0)).toBe(true);
    const erase = standIn.events('m-install').filter((e) => e.event.name === 'erase');
    expect(erase.map((e) => `${e.event.event_type} ${e.event.result ?? ''}`)).toEqual([
      'start ',
      'finish SUCCESS',
    ]);
    expect(erase[1]!.event.description).toMatch(/quick erase of 1 disk\(s\), 2048 MiB: vda/);
  });

  it('a disk too small for the image ends with a FAIL event carrying the step and the log tail', async () => {
    const m = machine('m-small');
    serve({ 'm-small': m });
    await bootEphemeral(
      'too-small',
      { id: 'm-small', token: m.token },
      'install',
      { path: join(work, 'small.raw'), sizeBytes: 48 * MIB },
      '52:54:00:31:00:13',
    );
    const events = standIn.events('m-small');
    expect(steps(events)).toEqual([
      'installer.config start',
      'installer.config finish SUCCESS',
      'install.storage start',
      'install.storage finish FAIL',
    ]);
    const fail = events.at(-1)!.event;
    expect(fail.description).toMatch(
      /^install\.storage failed: no disk is large enough: the image needs \d+ MiB, disks: vda=48MiB$/,
    );
    expect(fail.files).toHaveLength(1);
    expect(fail.files![0]).toMatchObject({ path: 'installer.log', encoding: 'base64' });
    const tail = Buffer.from(fail.files![0]!.content, 'base64').toString();
    expect(tail).toContain('step install.storage: partitioning the disk');
    expect(tail).toContain('ERROR: no disk is large enough');
    expect(hasPartitionTable(join(work, 'small.raw'))).toBe(false);
  });
  it('the initramfs fetches the squashfs again when the agent cuts it, and resends its FAIL report until it is taken', async () => {
    const m = machine('m-retry');
    const squashfs = `/images/${file(ephemeral, 'squashfs').sha256}`;
    const status = '/MAAS/metadata/status/m-retry';
    // An agent restarting twice while the initramfs fetches, and once while it reports.
    serve({ 'm-retry': m }, { [squashfs]: 2, [status]: 1 });
    const before = standIn.records().length;
    const vm = await bootEphemeral(
      'initramfs-retry',
      { id: 'm-retry', token: m.token },
      'no-such-purpose',
      { path: join(work, 'retry.raw'), sizeBytes: 64 * MIB },
      '52:54:00:31:00:14',
    );
    const seen = standIn
      .records()
      .slice(before)
      .filter(
        (r) =>
          r.path === squashfs ||
          r.path === status ||
          (r.type === 'status' && r.machine === 'm-retry'),
      )
      .map((r) => `${r.type} ${r.path === squashfs ? 'squashfs' : 'status'}`);
    expect(seen).toEqual([
      'refused squashfs',
      'refused squashfs',
      'request squashfs',
      'refused status',
      'status status',
      'request status',
    ]);
    const lines = vm.serialLines().map((l) => l.text);
    expect(lines.some((l) => /attempt 1 of 7 failed, trying again in 1 s/.test(l))).toBe(true);
    expect(lines.some((l) => /attempt 2 of 7 failed, trying again in 2 s/.test(l))).toBe(true);
    // The one FAIL event, stored once, says why the boot stopped.
    const events = standIn.events('m-retry');
    expect(events.map((e) => `${e.event.origin} ${e.event.name} ${e.event.result ?? ''}`)).toEqual([
      'ingot-initramfs boot.squashfs FAIL',
    ]);
    expect(events[0]!.event.description).toBe("unknown ingot.purpose 'no-such-purpose'");
  });
});
