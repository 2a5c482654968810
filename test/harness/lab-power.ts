/**
 * The lab power scenario (issue 4): a controller on the host, `ingot lab up --machines N` (the
 * real CLI: a detached supervisor, a rack agent in the lab namespace, QEMU VMs behind `ipmi_sim`
 * and the lab Redfish service), the busybox test image deployed to each machine so the
 * controller powers it on through the agent's real driver, then power off and `ingot lab down`.
 * Shared by `lab-power.e2e.test.ts` and the `pnpm e2e:power` report.
 */
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { registerImageFiles } from './images.ts';
import { api, type EventJson } from './api.ts';
import { startControllerProc, tempDir, waitFor, type ControllerProc } from './processes.ts';
import { buildTestEnvironment } from '../lab/initramfs.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

/** The order the controller must show for a machine powered on by its BMC. */
export const POWER_BOOT_STEPS = ['power.on', 'dhcp.ack', 'boot.config', 'boot.kernel'];

/** `lab.json` fields the scenario reads. */
interface LabJson {
  namespace: string;
  supervisorPid: number;
  agentPid: number;
  machines: {
    name: string;
    mac: string;
    machineId: string;
    power: string;
    qemuPid: number;
    ipmiSimPid: number;
  }[];
}

/** What one machine showed. */
export interface LabBoot {
  readonly name: string;
  readonly power: string;
  readonly machineId: string;
  readonly events: EventJson[];
  /** First occurrence of each step, in the order they happened. */
  readonly steps: string[];
  readonly poweredOff: boolean;
}

/** The result of the whole scenario. */
export interface LabPowerResult {
  readonly boots: LabBoot[];
  /** Leftovers after `lab down`: namespace, PIDs still alive. Empty when clean. */
  readonly leftovers: string[];
  readonly upOutput: string;
  readonly statusOutput: string;
  readonly downOutput: string;
}

/** Runs `ingot <args>` to completion; resolves with exit code and output. */
export function runIngot(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 240_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the scenario with `count` machines (alternating ipmi, redfish). Always tears down. */
export async function runLabPower(count = 2): Promise<LabPowerResult> {
  const env = await buildTestEnvironment();
  const work = tempDir('lab-power');
  const dataDir = join(work.path, 'lab');
  let controller: ControllerProc | undefined;
  let upOutput = '';
  let statusOutput = '';
  let downOutput = '';
  let seenLab: LabJson | undefined;
  // A call, not a read: TypeScript would narrow a read across the try/finally.
  const seen = (): LabJson | undefined => seenLab;
  const boots: LabBoot[] = [];
  const cliEnv = (): Record<string, string> => ({
    INGOT_URL: controller?.url ?? '',
    INGOT_API_KEY: controller?.adminKey ?? '',
  });
  try {
    controller = await startControllerProc({
      dataDir: join(work.path, 'controller'),
      args: ['--deploy-timeout', '10m'],
    });
    const up = await runIngot(
      [
        ...['lab', 'up', '--machines', String(count), '--data', dataDir],
        ...['--controller-grpc', controller.grpc, '--power-poll', '1s'],
      ],
      cliEnv(),
    );
    upOutput = up.output;
    if (up.code !== 0) throw new Error(`ingot lab up failed:\n${up.output}`);
    const labJson = JSON.parse(readFileSync(join(dataDir, 'lab.json'), 'utf8')) as LabJson;
    seenLab = labJson;

    // Register the test image and seed the lab agent's image cache by hash (as pxe.ts does).
    // The busybox test environment is both Ingot's ephemeral environment (what install and
    // commission boot) and the deployed image (its squashfs is the root image).
    const envFiles = [
      { role: 'kernel', path: env.kernelPath, name: 'vmlinuz' },
      { role: 'initrd', path: env.initrdPath, name: 'initrd.img' },
      { role: 'squashfs', path: env.squashfsPath, name: 'ephemeral.squashfs' },
    ];
    const kernelParams =
      'console=ttyS0,115200 earlycon=uart8250,io,0x3f8,115200 loglevel=6 panic=1';
    const files = await registerImageFiles(controller.url, controller.adminKey, {
      os: 'ingot',
      release: 'ephemeral',
      files: envFiles,
      kernelParams,
    });
    await registerImageFiles(controller.url, controller.adminKey, {
      os: 'ingot-test',
      release: 'busybox',
      files: envFiles,
      kernelParams,
    });
    mkdirSync(join(dataDir, 'agent', 'images'), { recursive: true });
    for (const f of files) copyFileSync(f.path, join(dataDir, 'agent', 'images', f.sha256));
    const user = await api<{ api_key: string }>(
      controller.url,
      controller.adminKey,
      'POST',
      '/api/v1/users',
      { username: 'lab', role: 'user' },
    );
    const key = user.body.api_key;
    const url = controller.url;

    // One machine at a time: two TCG VMs at once double every figure.
    for (const m of labJson.machines) {
      await api(url, key, 'POST', '/api/v1/machines/allocate', { name: m.machineId });
      const deploy = await api(url, key, 'POST', `/api/v1/machines/${m.machineId}/deploy`, {
        os: 'ingot-test',
        release: 'busybox',
      });
      if (deploy.status !== 202)
        throw new Error(`deploy ${m.name}: ${JSON.stringify(deploy.body)}`);
      const events = async (): Promise<EventJson[]> =>
        (
          await api<EventJson[]>(
            url,
            key,
            'GET',
            `/api/v1/machines/${m.machineId}/events?limit=1000`,
          )
        ).body;
      const all = await waitFor(
        `${m.name} (${m.power}) to boot the kernel`,
        async () => {
          const list = await events();
          return list.some((e) => e.step === 'boot.kernel') ? list : undefined;
        },
        180_000,
      );
      const off = await api(
        url,
        controller.adminKey,
        'POST',
        `/api/v1/machines/${m.machineId}/power`,
        {
          action: 'off',
        },
      );
      let poweredOff = off.status < 300;
      if (poweredOff) {
        poweredOff = await waitFor(
          `${m.name} power state off`,
          async () => {
            const p = await api<{ state: string }>(
              url,
              controller?.adminKey,
              'GET',
              `/api/v1/machines/${m.machineId}/power`,
            );
            return p.body.state === 'off' ? true : undefined;
          },
          60_000,
        ).catch(() => false);
      }
      const steps: string[] = [];
      for (const e of all) if (e.kind === 'step' && !steps.includes(e.step)) steps.push(e.step);
      boots.push({
        name: m.name,
        power: m.power,
        machineId: m.machineId,
        events: all,
        steps,
        poweredOff,
      });
    }
    statusOutput = (await runIngot(['lab', 'status', '--data', dataDir], cliEnv())).output;
  } finally {
    if (existsSync(join(dataDir, 'lab.json')) && controller !== undefined) {
      downOutput = (await runIngot(['lab', 'down', '--data', dataDir], cliEnv())).output;
    }
    await controller?.stop();
  }
  const leftovers: string[] = [];
  const labJson = seen();
  if (labJson !== undefined) {
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    if (namespaces.includes(labJson.namespace)) leftovers.push(`namespace ${labJson.namespace}`);
    const pids = [
      labJson.supervisorPid,
      labJson.agentPid,
      ...labJson.machines.flatMap((m) => [m.qemuPid, m.ipmiSimPid]),
    ];
    for (const pid of pids) if (pid > 0 && alive(pid)) leftovers.push(`pid ${String(pid)}`);
    if (existsSync(join(dataDir, 'vms'))) leftovers.push('vm files');
  }
  work.cleanup();
  return { boots, leftovers, upOutput, statusOutput, downOutput };
}

/** The steps of `steps` that are in {@link POWER_BOOT_STEPS}, in their order. */
export function powerBootOrder(steps: readonly string[]): string[] {
  return steps.filter((s) => POWER_BOOT_STEPS.includes(s));
}
