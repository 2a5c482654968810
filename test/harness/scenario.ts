/**
 * Building blocks the end-to-end scenarios share: a controller with one enrolled agent, users,
 * ready machines, and a simulated machine that reports its boot and install steps to the agent the
 * way the boot environment will.
 */
import { expect } from 'vitest';
import { api, type EventJson, type MachineJson } from './api.ts';
import { registerStandInImage } from './cluster-image.ts';
import {
  startAgentProc,
  startControllerProc,
  tempDir,
  waitFor,
  type AgentProc,
  type ControllerProc,
} from './processes.ts';

/**
 * The stand-in images (debian/bookworm/amd64 and Ingot's ephemeral environment): simulated
 * machines fetch nothing, but the controller only registers images whose files it holds, and disk
 * deploys boot the environment. `registerImage` throws on any refusal.
 */
export {
  registerStandInImage as registerImage,
  standInBytes,
  standInSha256,
} from './cluster-image.ts';

/** The steps a machine reports during a deployment to disk (DESIGN.md §3), in order. */
export const DEPLOY_STEPS = [
  'dhcp.ack',
  'boot.nbp',
  'boot.config',
  'boot.kernel',
  'boot.initrd',
  'boot.squashfs',
  'install.storage',
  'install.image',
  'install.bootloader',
  'install.reboot',
] as const;

/** A controller and an enrolled agent in temporary directories. */
export interface Site {
  controller: ControllerProc;
  agent: AgentProc;
  controllerDir: string;
  agentDir: string;
  cleanup(): Promise<void>;
}

/** What a test needs of a controller to talk to it: a running process or a cluster slot. */
export interface ControllerEndpoint {
  readonly url: string;
  readonly grpc: string;
  readonly adminKey: string;
}

/** A rack as `GET /api/v1/racks` lists it. */
export interface RackJson {
  readonly id: string;
  readonly status: string;
}

/** An agent started by {@link startEnrolledAgent}, with the token it enrolled with. */
export interface EnrolledAgent extends AgentProc {
  readonly enrollToken: string;
}

/**
 * Makes an enrollment token (through `options.via`, default the first controller) and starts an
 * agent with it in `dataDir`, given every controller in order: gRPC, and HTTP for the metadata
 * proxy and image files (the agent uses the one its session is on).
 */
export async function startEnrolledAgent(
  controllers: ControllerEndpoint | readonly ControllerEndpoint[],
  dataDir: string,
  options: { tftp?: string; args?: string[]; via?: ControllerEndpoint } = {},
): Promise<EnrolledAgent> {
  const all: readonly ControllerEndpoint[] = 'url' in controllers ? [controllers] : controllers;
  const via = options.via ?? all[0];
  if (via === undefined) throw new Error('an agent needs at least one controller');
  const token = await api<{ token: string }>(
    via.url,
    via.adminKey,
    'POST',
    '/api/v1/racks/enroll-tokens',
  );
  expect(token.status).toBe(201);
  const agent = await startAgentProc({
    controller: all.map((c) => c.grpc).join(','),
    dataDir,
    enrollToken: token.body.token,
    ...(options.tftp === undefined ? {} : { tftp: options.tftp }),
    args: ['--controller-http', all.map((c) => c.url).join(','), ...(options.args ?? [])],
  });
  return { ...agent, enrollToken: token.body.token };
}

/** Waits until `controller` lists at least one rack and every rack is healthy; returns them. */
export function waitForHealthyRacks(controller: ControllerEndpoint): Promise<RackJson[]> {
  return waitFor('the rack to be healthy', async () => {
    const racks = await api<RackJson[]>(
      controller.url,
      controller.adminKey,
      'GET',
      '/api/v1/racks',
    );
    return racks.body.length > 0 && racks.body.every((r) => r.status === 'healthy')
      ? racks.body
      : undefined;
  });
}

/** Starts a controller, creates an enrollment token and starts an agent with it. */
export async function startSite(
  controllerArgs: string[] = [],
  agentOptions: { tftp?: string; args?: string[] } = {},
): Promise<Site> {
  const cdir = tempDir('controller');
  const adir = tempDir('agent');
  const controller = await startControllerProc({ dataDir: cdir.path, args: controllerArgs });
  const agent = await startEnrolledAgent(controller, adir.path, agentOptions);
  const site: Site = {
    controller,
    agent,
    controllerDir: cdir.path,
    agentDir: adir.path,
    async cleanup() {
      await site.agent.stop();
      await site.controller.stop();
      cdir.cleanup();
      adir.cleanup();
    },
  };
  await registerStandInImage(controller.url, controller.adminKey);
  await waitForHealthyRacks(controller);
  return site;
}

/** Where {@link createUser} and {@link createReadyMachine} work: a {@link Site} or any controller. */
export interface OnController {
  readonly controller: ControllerEndpoint;
}

/** Creates a user and returns its API key. */
export async function createUser(site: OnController, username: string): Promise<string> {
  const r = await api<{ api_key: string }>(
    site.controller.url,
    site.controller.adminKey,
    'POST',
    '/api/v1/users',
    {
      username,
      role: 'user',
    },
  );
  expect(r.status).toBe(201);
  return r.body.api_key;
}

/** Creates a machine straight into `ready` with the operator's facts. */
export async function createReadyMachine(
  site: OnController,
  index: number,
  extra: Record<string, unknown> = {},
): Promise<MachineJson> {
  const mac = `52:54:00:${((index >> 16) & 0xff).toString(16).padStart(2, '0')}:${(
    (index >> 8) &
    0xff
  )
    .toString(16)
    .padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`;
  const r = await api<MachineJson>(
    site.controller.url,
    site.controller.adminKey,
    'POST',
    '/api/v1/machines',
    {
      hostname: `node-${index}`,
      arch: 'amd64',
      macs: [mac],
      cpu_count: 8,
      memory_mib: 16384,
      storage_gib: 500,
      commission: false,
      power: { type: 'manual', params: {} },
      ...extra,
    },
  );
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

/** Reports one step to the agent as the machine would. Returns the event id the agent gave it. */
export async function reportStep(
  site: Site,
  machineId: string,
  step: string,
  result: 'started' | 'succeeded' | 'failed' | 'info' = 'succeeded',
  message = `${step} ${result}`,
): Promise<string> {
  const r = await api<{ id: string }>(site.agent.url, undefined, 'POST', '/api/v1/machine-events', {
    machine_id: machineId,
    step,
    result,
    message,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.id;
}

/** Reads a machine. */
export async function getMachine(site: Site, key: string, id: string): Promise<MachineJson> {
  const r = await api<MachineJson>(site.controller.url, key, 'GET', `/api/v1/machines/${id}`);
  expect(r.status).toBe(200);
  return r.body;
}

/** Waits until the machine reaches `status`. */
export async function waitForStatus(
  site: Site,
  key: string,
  id: string,
  status: string,
  timeoutMs = 30_000,
): Promise<MachineJson> {
  return waitFor(
    `machine ${id} to be ${status}`,
    async () => {
      const m = await getMachine(site, key, id);
      return m.status === status ? m : undefined;
    },
    timeoutMs,
  );
}

/** All events of a machine, oldest first. */
export async function machineEvents(site: Site, key: string, id: string): Promise<EventJson[]> {
  const r = await api<EventJson[]>(
    site.controller.url,
    key,
    'GET',
    `/api/v1/machines/${id}/events?limit=10000`,
  );
  expect(r.status).toBe(200);
  return r.body;
}

/** Waits until the machine has an event with this step and result (e.g. the rack's `power.on`). */
export async function waitForStep(
  site: Site,
  key: string,
  id: string,
  step: string,
  result = 'succeeded',
): Promise<void> {
  await waitFor(`${step} ${result} for ${id}`, async () =>
    (await machineEvents(site, key, id)).some((e) => e.step === step && e.result === result)
      ? true
      : undefined,
  );
}
