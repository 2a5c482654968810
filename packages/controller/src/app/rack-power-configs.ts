/**
 * Which machines' BMCs a rack polls, and how it reaches them (issue 7: power polling). A machine
 * belongs to the rack it names, or, naming none, to the only rack there is. Parameters stay
 * sealed here; the rpc edge opens them as it sends (`rpc/session-power.ts`).
 */
import type { Store } from './ports.ts';

/** How a rack reaches one machine's BMC; `params` sealed as stored. */
export interface RackPowerConfig {
  readonly machineId: string;
  readonly driver: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** Most ids read in one query (well under SQLite's and PostgreSQL's bind parameter limits). */
const IDS_PER_QUERY = 500;

/**
 * The power configs rack `rackId` polls: of every machine, or only of those of `machineIds` that
 * it polls (the others are missing from the answer: deleted, without power settings, or served by
 * another rack). Naming the machines reads just them: reading every machine for each machine
 * created cost O(n) per create and O(n²) to create n (issue 7).
 */
export async function rackPowerConfigs(
  store: Pick<Store, 'listRacks' | 'listMachines'>,
  rackId: string,
  machineIds?: readonly string[],
): Promise<RackPowerConfig[]> {
  const onlyRack = (await store.listRacks()).length === 1;
  const machines =
    machineIds === undefined
      ? await store.listMachines({})
      : await readByIds(store, [...new Set(machineIds)]);
  return machines
    .filter((m) => m.power !== null && (m.rackId === rackId || (m.rackId === null && onlyRack)))
    .map((m) => ({
      machineId: m.id,
      driver: m.power?.type ?? 'manual',
      params: m.power?.params ?? {},
    }));
}

async function readByIds(
  store: Pick<Store, 'listMachines'>,
  ids: readonly string[],
): Promise<Awaited<ReturnType<Store['listMachines']>>> {
  const machines = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY)
    machines.push(...(await store.listMachines({ ids: ids.slice(i, i + IDS_PER_QUERY) })));
  return machines;
}
