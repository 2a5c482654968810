/**
 * The network-boot scenario (issue 3): a controller on the host, one rack agent inside a lab
 * namespace serving DHCP, TFTP and HTTP boot on the lab bridge, and QEMU VMs with stock firmware
 * (SeaBIOS + iPXE, OVMF) that PXE-boot a busybox test environment from the agent alone. Shared
 * by `pxe.e2e.test.ts` and the `pnpm e2e:pxe` report.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { registerImageFiles } from './images.ts';
import { api, type EventJson, type MachineJson } from './api.ts';
import { startControllerProc, tempDir, waitFor, type ControllerProc } from './processes.ts';
import { buildTestEnvironment, TEST_ENV_MARKER, type TestEnvironment } from '../lab/initramfs.ts';
import { cleanupStale, createLab, type LabNetwork } from '@ingot/lab/netns.ts';
import { startVm, type Firmware } from '@ingot/lab/qemu.ts';
import { startBootCapture, type BootCapture } from '../lab/capture.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

/** The boot steps the controller must list for a PXE-booted machine, in order. */
export const PXE_STEPS = ['dhcp.ack', 'boot.config', 'boot.kernel', 'boot.initrd', 'boot.squashfs'];

/** A running PXE site. */
export interface PxeSite {
  readonly lab: LabNetwork;
  readonly controller: ControllerProc;
  readonly userKey: string;
  readonly env: TestEnvironment;
  readonly workDir: string;
  agentOutput(): string;
  close(): Promise<void>;
}

/** Starts the lab, the controller, the agent in the namespace, and registers image and subnet. */
export async function startPxeSite(): Promise<PxeSite> {
  cleanupStale();
  const env = await buildTestEnvironment();
  const work = tempDir('pxe');
  const lab = await createLab({ uplink: true });
  let agent: ChildProcess | undefined;
  let controller: ControllerProc | undefined;
  try {
    const uplink = lab.uplink;
    if (uplink === undefined) throw new Error('lab without uplink');
    controller = await startControllerProc({
      dataDir: join(work.path, 'controller'),
      host: uplink.hostAddress,
      args: ['--deploy-timeout', '10m'],
    });
    const admin = controller.adminKey;
    // The busybox test environment is both Ingot's ephemeral environment (what install and
    // commission boot) and the deployed image (its squashfs is the root image).
    const envFiles = [
      { role: 'kernel', path: env.kernelPath, name: 'vmlinuz' },
      { role: 'initrd', path: env.initrdPath, name: 'initrd.img' },
      { role: 'squashfs', path: env.squashfsPath, name: 'ephemeral.squashfs' },
    ];
    const kernelParams =
      'console=ttyS0,115200 earlycon=uart8250,io,0x3f8,115200 loglevel=6 panic=1';
    const files = await registerImageFiles(controller.url, admin, {
      os: 'ingot',
      release: 'ephemeral',
      files: envFiles,
      kernelParams,
    });
    await registerImageFiles(controller.url, admin, {
      os: 'ingot-test',
      release: 'busybox',
      files: envFiles,
      kernelParams,
    });
    // The image cache arrives with the images issue; until then the test seeds it by hash.
    const agentDir = join(work.path, 'agent');
    mkdirSync(join(agentDir, 'images'), { recursive: true });
    for (const f of files) copyFileSync(f.path, join(agentDir, 'images', f.sha256));

    const token = await api<{ token: string }>(
      controller.url,
      admin,
      'POST',
      '/api/v1/racks/enroll-tokens',
    );
    let out = '';
    agent = lab.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'agent',
        '--controller',
        controller.grpc,
        '--controller-http',
        controller.url,
        '--enroll-token',
        token.body.token,
        '--data',
        agentDir,
        '--interface',
        lab.bridge,
        '--http',
        `0.0.0.0:5248`,
        '--tftp',
        '0.0.0.0:69',
        '--dhcp',
        '67',
        '--log-level',
        'warn',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const racks = await waitFor('the lab rack', async () => {
      const r = await api<{ id: string; status: string }[]>(
        controller!.url,
        admin,
        'GET',
        '/api/v1/racks',
      );
      return r.body[0]?.status === 'healthy' ? r.body : undefined;
    });
    const subnet = await api(controller.url, admin, 'POST', '/api/v1/subnets', {
      cidr: lab.subnet,
      gateway: null,
      dynamic_ranges: [{ start: '172.31.0.100', end: '172.31.0.199' }],
      lease_seconds: 600,
      rack: racks[0]?.id,
    });
    if (subnet.status !== 201) throw new Error(`subnet: ${JSON.stringify(subnet.body)}`);
    const user = await api<{ api_key: string }>(controller.url, admin, 'POST', '/api/v1/users', {
      username: 'pxe',
      role: 'user',
    });
    const site: PxeSite = {
      lab,
      controller,
      userKey: user.body.api_key,
      env,
      workDir: work.path,
      agentOutput: () => out,
      async close() {
        await lab.cleanup();
        await controller?.stop();
        work.cleanup();
      },
    };
    return site;
  } catch (error) {
    await lab.cleanup();
    await controller?.stop();
    work.cleanup();
    throw error;
  }
}

/** What one boot showed. */
export interface PxeBootResult {
  readonly firmware: Firmware;
  readonly machineId: string;
  /** First DHCPDISCOVER on the wire → the kernel's first console line. */
  readonly dhcpToKernelMs: number;
  /** The machine's boot steps as the controller stored them, in order (first of each). */
  readonly steps: string[];
  readonly events: EventJson[];
  /** Router advertisements seen on the segment during the boot (the agent's, see ra-sender). */
  readonly routerAdvertisements: number;
}

/**
 * Creates a machine with `mac`, allocates and deploys the test image to it (the manual power
 * driver asks the operator to power it on: the test does, by starting the VM), and waits until
 * the test environment reports from userspace.
 */
export async function pxeBoot(
  site: PxeSite,
  firmware: Firmware,
  mac: string,
): Promise<PxeBootResult> {
  const { controller } = site;
  const created = await api<MachineJson>(
    controller.url,
    controller.adminKey,
    'POST',
    '/api/v1/machines',
    {
      hostname: `vm-${firmware}`,
      macs: [mac],
      commission: false,
      power: { type: 'manual', params: {} },
    },
  );
  if (created.status !== 201) throw new Error(`machine: ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  await api(controller.url, site.userKey, 'POST', '/api/v1/machines/allocate', { name: id });
  const deploy = await api(controller.url, site.userKey, 'POST', `/api/v1/machines/${id}/deploy`, {
    os: 'ingot-test',
    release: 'busybox',
  });
  if (deploy.status !== 202) throw new Error(`deploy: ${JSON.stringify(deploy.body)}`);
  const events = async (): Promise<EventJson[]> =>
    (
      await api<EventJson[]>(
        controller.url,
        site.userKey,
        'GET',
        `/api/v1/machines/${id}/events?limit=1000`,
      )
    ).body;
  await waitFor('power.on from the rack', async () =>
    (await events()).some((e) => e.step === 'power.on' && e.result === 'succeeded')
      ? true
      : undefined,
  );

  const capture: BootCapture = startBootCapture(site.lab);
  await capture.ready();
  const vm = await startVm({
    lab: site.lab,
    name: firmware,
    mac,
    firmware,
    workDir: join(site.workDir, 'vms'),
  });
  try {
    await vm.waitForSerial(new RegExp(TEST_ENV_MARKER), 150_000);
    const kernel = await vm.waitForSerial(/Linux version/, 1000);
    const discover = capture.first('dhcp-discover', mac);
    if (discover === undefined) throw new Error('no DHCPDISCOVER captured');
    // The environment's last report, sent from userspace after it fetched the squashfs.
    const all = await waitFor('the test environment’s reports at the controller', async () => {
      const list = await events();
      return list.some((e) => e.step === 'install.reboot') ? list : undefined;
    });
    const steps: string[] = [];
    for (const e of all) if (e.kind === 'step' && !steps.includes(e.step)) steps.push(e.step);
    const routerAdvertisements = capture
      .packets()
      .filter((p) => p.kind === 'router-advertisement').length;
    return {
      firmware,
      machineId: id,
      dhcpToKernelMs: kernel.atMs - discover.atMs,
      steps,
      events: all,
      routerAdvertisements,
    };
  } finally {
    await vm.stop();
    await capture.stop();
  }
}

/**
 * Boots a VM whose MAC the controller has never seen and returns the machine the controller
 * enlisted for it (status `new`, arch from DHCP option 93).
 */
export async function pxeEnlist(
  site: PxeSite,
  mac: string,
): Promise<MachineJson & { arch: string; macs: string[] }> {
  const { controller } = site;
  const vm = await startVm({
    lab: site.lab,
    name: 'unknown',
    mac,
    firmware: 'bios',
    workDir: join(site.workDir, 'vms'),
  });
  try {
    return await waitFor(
      `enlistment of ${mac}`,
      async () => {
        const r = await api<(MachineJson & { arch: string; macs: string[] })[]>(
          controller.url,
          controller.adminKey,
          'GET',
          '/api/v1/machines',
        );
        return r.body.find((m) => m.macs.includes(mac));
      },
      90_000,
    );
  } finally {
    await vm.stop();
  }
}
