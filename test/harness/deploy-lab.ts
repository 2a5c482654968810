/**
 * The deploy scenario's site (issue 5): images built from Debian packages (cached by their
 * inputs), a controller on the host, `ingot lab up` (a rack agent and QEMU VMs with blank disks
 * behind IPMI/Redfish BMCs in a lab namespace), the images imported with `ingot images import`,
 * and an operator with an SSH key added with `ingot keys add`. Everything after setup goes
 * through the CLI or the API, as an operator would. Shared by `deploy-lab.netns.e2e.test.ts` and
 * the `pnpm e2e:deploy` report.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildEphemeralImage } from '@ingot/images/ephemeral.ts';
import { buildDebianImage } from '@ingot/images/debian.ts';
import { buildTinyImage } from '@ingot/images/tiny.ts';
import { DEFAULT_IMAGE_CACHE } from '@ingot/images/cache.ts';
import { api, type EventJson, type MachineJson } from './api.ts';
import { runIngot } from './lab-power.ts';
import { startControllerProc, tempDir, type ControllerProc } from './processes.ts';

/** Which install image a scenario deploys. */
export type ImageKind = 'tiny' | 'debian';

/** `lab.json` fields the scenario reads. */
export interface LabMachine {
  readonly name: string;
  readonly mac: string;
  readonly machineId: string;
  readonly power: string;
  readonly qemuPid: number;
  readonly disk: string;
  /** With `enlist`: the BMC settings the operator gives the enlisted machine. */
  readonly powerParams?: Record<string, unknown>;
}

/** A running deploy site. */
export interface DeploySite {
  readonly controller: ControllerProc;
  readonly namespace: string;
  readonly machines: readonly LabMachine[];
  /** The operator's API key and the private key whose public half is on their account. */
  readonly userKey: string;
  readonly sshPrivateKey: string;
  readonly sshPublicKey: string;
  /** Directory of the lab's VMs (serial logs: `<name>.serial.log`). */
  readonly vmDir: string;
  readonly workDir: string;
  /** The controller's data directory (its image store is `images/<sha256>`). */
  readonly controllerDataDir: string;
  /** Built image directories, by `os/release`. */
  readonly imageDirs: ReadonlyMap<string, string>;
  /** Runs `ingot …` as the operator (or as the admin with `asAdmin`). */
  ingot(args: string[], asAdmin?: boolean, timeoutMs?: number): Promise<RunResult>;
  /** GET as the operator. */
  get<T>(path: string): Promise<T>;
  events(machineId: string): Promise<EventWithData[]>;
  machine(machineId: string): Promise<MachineJson & Record<string, unknown>>;
  serialLog(name: string): string;
  log(message: string): void;
  close(): Promise<void>;
}

/** What `ingot` printed and its exit code. */
export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** An event with its data, as `GET /machines/{id}/events` returns it. */
export interface EventWithData extends EventJson {
  readonly data: Record<string, unknown>;
  readonly actor: string;
}

/** What {@link startDeploySite} builds. */
export interface DeploySiteOptions {
  images: readonly ImageKind[];
  machines?: number;
  memoryMib?: number;
  /** Leave the lab's machines for PXE enlistment (`ingot lab up --enlist`). */
  enlist?: boolean;
  log?: (message: string) => void;
}

/**
 * Vitest hooks for a test file that runs in one deploy site: starts it before the file's tests
 * (logging to the console unless `log` says otherwise), runs `prepare` on its first machine (e.g.
 * enlist and commission it; its result becomes the machine), hands both to `ready`, and closes the
 * site after the file's tests. `setupTimeoutMs` bounds building images and starting the lab.
 */
export function useDeploySite(
  options: DeploySiteOptions & {
    prepare?: (site: DeploySite, vm: LabMachine) => Promise<LabMachine>;
    setupTimeoutMs?: number;
  },
  ready: (site: DeploySite, vm: LabMachine) => void,
): void {
  let site: DeploySite | undefined;
  beforeAll(async () => {
    site = await startDeploySite({ log: (m) => console.log(m), ...options });
    const first = site.machines[0];
    if (first === undefined) throw new Error('the lab has no machine');
    ready(site, options.prepare === undefined ? first : await options.prepare(site, first));
  }, options.setupTimeoutMs ?? 1_800_000);
  afterAll(async () => {
    await site?.close();
  }, 120_000);
}

/**
 * Builds (or finds) the images, starts the controller and the lab, imports the images and makes
 * the operator. Tears everything down again when a step fails.
 */
export async function startDeploySite(options: DeploySiteOptions): Promise<DeploySite> {
  const t0 = Date.now();
  const log = (m: string): void =>
    (options.log ?? ((): void => undefined))(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}`);
  const cacheDir = process.env['INGOT_IMAGE_CACHE'] ?? DEFAULT_IMAGE_CACHE;
  const builders = { tiny: buildTinyImage, debian: buildDebianImage } as const;
  const imageDirs = new Map<string, string>();
  for (const build of [buildEphemeralImage, ...options.images.map((k) => builders[k])]) {
    const image = await build({ cacheDir, log });
    log(`${image.manifest.name}: ${image.built ? 'built' : 'cached'} (${image.dir})`);
    imageDirs.set(`${image.manifest.os}/${image.manifest.release}`, image.dir);
  }

  const work = tempDir('deploy-lab');
  const dataDir = join(work.path, 'lab');
  let controller: ControllerProc | undefined;
  let labUp = false;
  const env = (key: string | undefined): Record<string, string> => ({
    INGOT_URL: controller?.url ?? '',
    INGOT_API_KEY: key ?? '',
  });
  const teardown = async (): Promise<void> => {
    if (labUp) {
      const down = await runIngot(['lab', 'down', '--data', dataDir], env(controller?.adminKey));
      if (down.code !== 0) log(`ingot lab down failed:\n${down.output}`);
    }
    await controller?.stop();
    work.cleanup();
  };
  try {
    controller = await startControllerProc({ dataDir: join(work.path, 'controller') });
    const admin = controller.adminKey;
    const up = await runIngot(
      [
        ...['lab', 'up', '--machines', String(options.machines ?? 1), '--data', dataDir],
        ...['--controller-grpc', controller.grpc, '--power-poll', '2s'],
        ...['--memory', String(options.memoryMib ?? 1536)],
        ...(options.enlist === true ? ['--enlist'] : []),
      ],
      env(admin),
    );
    if (up.code !== 0) throw new Error(`ingot lab up failed:\n${up.output}`);
    labUp = true;
    const lab = JSON.parse(readFileSync(join(dataDir, 'lab.json'), 'utf8')) as {
      namespace: string;
      machines: LabMachine[];
    };
    log(`lab up: ${lab.machines.map((m) => `${m.name} (${m.power})`).join(', ')}`);

    for (const dir of imageDirs.values()) {
      const imported = await runIngot(['images', 'import', dir], env(admin), 600_000);
      if (imported.code !== 0) throw new Error(`ingot images import ${dir}:\n${imported.output}`);
    }
    log('images imported');

    const created = await runIngot(
      ['users', 'create', 'ops', '--role', 'user', '--json'],
      env(admin),
    );
    if (created.code !== 0) throw new Error(`ingot users create:\n${created.output}`);
    const userKey = (JSON.parse(created.output) as { api_key: string }).api_key;
    const sshPrivateKey = join(work.path, 'id_ed25519');
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'ops@ingot-lab',
      '-f',
      sshPrivateKey,
    ]);
    const added = await runIngot(['keys', 'add', `${sshPrivateKey}.pub`], env(userKey));
    if (added.code !== 0) throw new Error(`ingot keys add:\n${added.output}`);

    const site: DeploySite = {
      controller,
      namespace: lab.namespace,
      machines: lab.machines,
      userKey,
      sshPrivateKey,
      sshPublicKey: readFileSync(`${sshPrivateKey}.pub`, 'utf8').trim(),
      vmDir: join(dataDir, 'vms'),
      workDir: work.path,
      controllerDataDir: join(work.path, 'controller'),
      imageDirs,
      ingot: (args, asAdmin = false, timeoutMs = 120_000) =>
        runIngot(args, env(asAdmin ? admin : userKey), timeoutMs),
      async get<T>(path: string): Promise<T> {
        const r = await api<T>(controller?.url ?? '', admin, 'GET', path);
        if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
      },
      events: (id) => site.get<EventWithData[]>(`/api/v1/machines/${id}/events`),
      machine: (id) => site.get(`/api/v1/machines/${id}`),
      serialLog: (name) => {
        const path = join(dataDir, 'vms', `${name}.serial.log`);
        return existsSync(path) ? readFileSync(path, 'utf8') : '';
      },
      log,
      close: teardown,
    };
    return site;
  } catch (e) {
    await teardown();
    throw e;
  }
}

/**
 * Waits until `machineId` reaches one of `statuses` (or a failed status, which throws with the
 * machine's status message and last events). Polls the API every second, bounded by `timeoutMs`.
 */
export async function waitForStatus(
  site: DeploySite,
  machineId: string,
  statuses: readonly string[],
  timeoutMs: number,
): Promise<MachineJson & Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    const m = await site.machine(machineId);
    if (m.status !== last) {
      site.log(`${machineId}: ${m.status} — ${m.status_message}`);
      last = m.status;
    }
    if (statuses.includes(m.status)) return m;
    if (m.status.startsWith('failed_')) {
      const tail = (await site.events(machineId)).slice(-8);
      throw new Error(
        `${machineId} is ${m.status}: ${m.status_message}\nlast events:\n${tail
          .map((e) => `  ${e.step} ${e.result} ${e.message}`)
          .join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${machineId} did not reach ${statuses.join('/')} in ${timeoutMs} ms (${last})`);
}

/** Writes `content` to a file in the site's work directory; returns its path. */
export function workFile(site: DeploySite, name: string, content: string): string {
  const path = join(site.workDir, name);
  writeFileSync(path, content);
  return path;
}

/**
 * Waits (bounded) until the VM's console shows `text`: a machine is `deployed` the moment its OS
 * fetches its user data, a little before that user data has run and printed anything.
 */
export async function waitForConsole(
  site: DeploySite,
  vmName: string,
  text: string,
  timeoutMs = 120_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    if (site.serialLog(vmName).includes(text)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}
