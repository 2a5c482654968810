/**
 * Issue 8's client cycle in the virtual lab: the lab VM is commissioned (Ready, with tags), then
 * Juju's MAAS library (gomaasapi, through test/maas-client) — with the operator's MAAS key from
 * `ingot users api-key --maas` — reads the inventory, allocates the VM by constraints, deploys
 * the tiny image to its disk with user data, waits for `Deployed`, and releases it. Shared by
 * `maas.netns.e2e.test.ts` and the `pnpm e2e:maas` report; each step returns what it saw.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { api } from './api.ts';
import {
  waitForConsole,
  workFile,
  type DeploySite,
  type EventWithData,
  type LabMachine,
} from './deploy-lab.ts';
import { commission } from './deploy-scenario.ts';
import {
  asMachine,
  buildMaasClient,
  isMachineStep,
  maasApiKey,
  runMaasClient,
  type MaasMachine,
  type MaasRun,
  type MaasStep,
} from './maas-client.ts';

/** Tags the operator puts on the lab VM, and the client's `tags=` constraint. */
export const LAB_TAGS = ['lab', 'maas'] as const;

/** What the cycle saw. */
export interface MaasCycle {
  readonly inventory: MaasRun;
  readonly allocated: MaasMachine;
  readonly deploying: MaasMachine;
  readonly deployed: MaasMachine;
  readonly ready: MaasMachine;
  /** The user data's marker appeared on the VM's console (it ran on the deployed OS). */
  readonly userDataRan: boolean;
  readonly marker: string;
  /** The machine's events during the deploy (through /api/v1, for the disk steps). */
  readonly deployEvents: EventWithData[];
  /** Wall-clock seconds of each client step. */
  readonly seconds: Readonly<Record<'allocate' | 'deploy' | 'deployed' | 'release', number>>;
}

/** Commissions the VM as the admin and tags it: Ready, with facts, for the MAAS client. */
export async function prepareLabMachine(
  site: DeploySite,
  vm: LabMachine,
): Promise<Awaited<ReturnType<typeof commission>>> {
  const facts = await commission(site, vm);
  const patched = await api(
    site.controller.url,
    site.controller.adminKey,
    'PATCH',
    `/api/v1/machines/${vm.machineId}`,
    { tags: [...LAB_TAGS] },
  );
  if (patched.status !== 200) throw new Error(`PATCH tags: ${JSON.stringify(patched.body)}`);
  return facts;
}

function ok(run: MaasRun, what: string): MaasRun {
  if (run.code !== 0 || run.failure !== undefined) {
    throw new Error(
      `maas-client ${what} failed (exit ${String(run.code)}): ${
        run.failure?.error ?? run.stderr.trim()
      }`,
    );
  }
  return run;
}

/**
 * Runs the whole cycle with gomaasapi as the site's operator. `log` gets one line per client
 * step. Throws with the client's message when a step fails.
 */
export async function maasCycle(
  site: DeploySite,
  vm: LabMachine,
  options: { log?: (m: string) => void; deployTimeoutS?: number } = {},
): Promise<MaasCycle> {
  const log = options.log ?? ((): void => undefined);
  const binary = await buildMaasClient(log);
  const key = await maasApiKey(site.controller.url, site.userKey);
  const onStep = (s: MaasStep): void => log(`  gomaasapi ${describe(s)}`);
  const client = async (what: string, args: string[], timeoutMs = 60_000): Promise<MaasRun> => {
    const t0 = Date.now();
    const run = ok(
      await runMaasClient(binary, { url: site.controller.url, key, args, timeoutMs, onStep }),
      what,
    );
    seconds[what] = (Date.now() - t0) / 1000;
    return run;
  };
  const seconds: Record<string, number> = {};

  const inventory = await client('inventory', ['inventory']);
  const model = randomUUID();
  const allocated = asMachine(
    (
      await client('allocate', [
        ...['allocate', '-arch', 'amd64', '-cpu', '2', '-mem', '1024'],
        ...['-tag', LAB_TAGS.join(','), '-not-tag', 'broken', '-storage', 'root:3'],
        ...['-agent-name', model],
      ])
    ).step('allocate'),
  );
  if (allocated.system_id !== vm.machineId) {
    throw new Error(`allocated ${allocated.system_id}, not the lab VM ${vm.machineId}`);
  }
  // As Juju's StartInstance: tag the instance with owner data, find it again by agent name.
  await client('owner-data', [
    ...['owner-data', '-id', vm.machineId],
    ...['-set', `juju-model-uuid=${model}`, '-set', 'juju-is-controller=false'],
  ]);
  const found = (await client('instances', ['instances', '-agent-name', model])).step('instances');
  if (JSON.stringify(found['system_ids']) !== JSON.stringify([vm.machineId])) {
    throw new Error(`agent_name ${model} finds ${JSON.stringify(found['system_ids'])}`);
  }

  const marker = `ingot-maas-${randomBytes(6).toString('hex')}`;
  const userData = workFile(site, 'maas-user-data.sh', `#!/bin/sh\necho ${marker}\n`);
  const before = await site.events(vm.machineId);
  const deploying = asMachine(
    (
      await client('deploy', [
        ...['deploy', '-id', vm.machineId, '-distro-series', 'tiny'],
        ...['-user-data-file', userData],
      ])
    ).step('deploy'),
  );
  const timeoutS = options.deployTimeoutS ?? 600;
  const deployed = asMachine(
    (
      await client(
        'deployed',
        ['wait', '-id', vm.machineId, '-status', 'Deployed', '-timeout', `${timeoutS}s`],
        (timeoutS + 60) * 1000,
      )
    ).step('wait Deployed'),
  );
  const userDataRan = await waitForConsole(site, vm.name, marker);
  const seen = new Set(before.map((e) => e.id));
  const deployEvents = (await site.events(vm.machineId)).filter((e) => !seen.has(e.id));

  await client('release', ['release', '-id', vm.machineId]);
  const ready = asMachine(
    (
      await client(
        'ready',
        ['wait', '-id', vm.machineId, '-status', 'Ready', '-timeout', '300s'],
        360_000,
      )
    ).step('wait Ready'),
  );
  seconds['release'] = (seconds['release'] ?? 0) + (seconds['ready'] ?? 0);
  return {
    inventory,
    allocated,
    deploying,
    deployed,
    ready,
    userDataRan,
    marker,
    deployEvents,
    seconds: {
      allocate: seconds['allocate'] ?? 0,
      deploy: seconds['deploy'] ?? 0,
      deployed: seconds['deployed'] ?? 0,
      release: seconds['release'],
    },
  };
}

/** One client step as a report line. */
function describe(s: MaasStep): string {
  if (!s.ok) return `${s.step} FAILED (${s.kind ?? '?'}): ${s.error ?? ''}`;
  const m = isMachineStep(s) ? asMachine(s) : undefined;
  switch (s.step) {
    case 'connect':
      return `connect: MAAS API ${String(s['version'])}, capabilities ${JSON.stringify(s['capabilities'])}`;
    case 'status':
      return `status: ${String(s['status_name'])} (power ${String(s['power_state'])}) after ${Number(s['seconds']).toFixed(1)} s`;
    default:
      return m === undefined
        ? `${s.step}: ${JSON.stringify(s).slice(0, 160)}`
        : `${s.step}: ${m.system_id} ${m.hostname} ${m.status_name}, ${m.architecture}, ${m.cpu_count} CPUs, ${m.memory} MiB, tags ${m.tag_names.join(',')}`;
  }
}
