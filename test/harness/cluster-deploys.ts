/**
 * Deploys through a cluster whose members come and go: API calls go to whichever controller
 * answers (bounded retries), an allocation whose answer died with its controller is found again
 * by owner, and a deploy whose answer was lost is read back. Shared by the failover and chaos
 * scenarios.
 */
import { api, type Reply } from './api.ts';
import type { Cluster } from './cluster.ts';
import type { MachineDriver, ScenarioMachine } from './cluster-machines.ts';
import type { AllocationGrant } from './invariants.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One API call to whichever controller answers, tried on each running one in turn for up to
 * `patienceMs` (a restarting controller on a loaded host takes a while to listen again).
 */
export async function anyController<T>(
  cluster: Cluster,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  patienceMs = 120_000,
): Promise<Reply<T>> {
  let last: unknown;
  const deadline = Date.now() + patienceMs;
  for (let attempt = 0; attempt < 2000 && Date.now() < deadline; attempt++) {
    const live = cluster.controllers.filter((c) => c.proc !== undefined);
    const c = live[attempt % Math.max(1, live.length)];
    if (c !== undefined) {
      try {
        return await api<T>(c.url, key, method, path, body);
      } catch (e) {
        last = e;
      }
    }
    await sleep(250);
  }
  throw new Error(`${method} ${path}: no controller answered (${String(last)})`);
}

/**
 * One user's deploy: allocate any ready machine (an answer lost to a killed controller is found
 * again by owner), deploy it, then let the driver run the machine's side.
 */
export async function deployOne(
  cluster: Cluster,
  driver: MachineDriver,
  user: { name: string; key: string },
  grants: AllocationGrant[],
  deadlineMs: number,
  image: { os: string; release: string },
): Promise<void> {
  let machine: ScenarioMachine | undefined;
  for (let attempt = 0; machine === undefined && attempt < 20; attempt++) {
    try {
      const r = await anyController<ScenarioMachine & { macs: string[] }>(
        cluster,
        user.key,
        'POST',
        '/api/v1/machines/allocate',
        {},
      );
      if (r.status === 200) {
        grants.push({ machineId: r.body.id, owner: user.name });
        machine = { id: r.body.id, hostname: r.body.hostname, mac: r.body.macs[0] ?? '' };
        break;
      }
    } catch {
      // fall through: look for a machine this user already holds
    }
    const mine = await anyController<
      (ScenarioMachine & { owner: string | null; macs: string[] })[]
    >(cluster, user.key, 'GET', '/api/v1/machines?limit=10000');
    const held = mine.body.find((m) => m.owner === user.name);
    if (held !== undefined)
      machine = { id: held.id, hostname: held.hostname, mac: held.macs[0] ?? '' };
    else await sleep(300);
  }
  if (machine === undefined) return;
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await anyController<{ status: string }>(
      cluster,
      user.key,
      'POST',
      `/api/v1/machines/${machine.id}/deploy`,
      image,
    );
    if (r.status === 202) break;
    const now = await anyController<{ status: string }>(
      cluster,
      user.key,
      'GET',
      `/api/v1/machines/${machine.id}`,
    );
    if (now.body.status !== 'allocated') break;
    await sleep(300);
  }
  await driver.run(machine, deadlineMs);
}

/** Creates `n` ready stand-in machines (manual power: the stand-in powers on by itself). */
export async function createStandInMachines(cluster: Cluster, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const mac = `52:54:00:7a:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const r = await anyController(cluster, cluster.adminKey, 'POST', '/api/v1/machines', {
      hostname: `chaos-${String(i)}`,
      arch: 'amd64',
      macs: [mac],
      cpu_count: 4,
      memory_mib: 8192,
      storage_gib: 100,
      commission: false,
      power: { type: 'manual', params: {} },
    });
    if (r.status !== 201) throw new Error(`machine ${String(i)}: ${JSON.stringify(r.body)}`);
  }
}

/** Creates `n` users (role user), one per concurrent deploy, and returns their keys. */
export async function createUsers(
  cluster: Cluster,
  n: number,
): Promise<{ name: string; key: string }[]> {
  const users: { name: string; key: string }[] = [];
  for (let i = 0; i < n; i++) {
    const name = `chaos-user-${String(i)}`;
    const r = await anyController<{ api_key: string }>(
      cluster,
      cluster.adminKey,
      'POST',
      '/api/v1/users',
      { username: name, role: 'user' },
    );
    if (r.status !== 201) throw new Error(`user ${name}: ${JSON.stringify(r.body)}`);
    users.push({ name, key: r.body.api_key });
  }
  return users;
}

/** Waits (bounded) until the rack is connected and its outbox is empty, and no machine moves. */
export async function settle(cluster: Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stable = 0;
  let last = '';
  while (Date.now() < deadline && stable < 3) {
    try {
      const racks = await anyController<
        { status: string; health: { outbox_depth: number } | null }[]
      >(cluster, cluster.adminKey, 'GET', '/api/v1/racks');
      const machines = await anyController<{ id: string; status: string }[]>(
        cluster,
        cluster.adminKey,
        'GET',
        '/api/v1/machines?limit=10000',
      );
      const rack = racks.body[0];
      const drained = rack?.status === 'healthy' && rack.health?.outbox_depth === 0;
      const now = machines.body.map((m) => `${m.id}:${m.status}`).join(',');
      stable = drained && now === last ? stable + 1 : 0;
      last = now;
    } catch {
      stable = 0;
    }
    await sleep(1000);
  }
}
