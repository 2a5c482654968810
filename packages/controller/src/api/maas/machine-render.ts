/**
 * Gathers what MAAS machine objects show (owners' names, commissioning's hardware, address
 * reservations, subnets) once per response, and shapes each machine.
 */
import type { Machine } from '../../domain/machine/machine.ts';
import type { Reservation } from '../../domain/network/subnet.ts';
import type { ApiDeps } from '../context.ts';
import { machineShape } from './machine-shape.ts';
import type { JsonObject } from './network-shape.ts';

/** The DNS domain MAAS puts machines in by default (`fqdn` is `hostname.maas`). */
export const MAAS_DOMAIN = 'maas';

/** Statuses in which a machine runs an OS that holds a DHCP lease worth showing. */
const ADDRESSED: ReadonlySet<Machine['status']> = new Set([
  'deploying',
  'deployed',
  'failed_deployment',
]);

/** A lease as `dhcp.ack` steps record it. */
interface Lease {
  readonly ip: string;
  readonly subnetCidr: string;
}

/**
 * The address in each machine's last `dhcp.ack` step (the rack's lease to its boot interface),
 * for the machines running an OS: what Juju connects to when no address is reserved. One query
 * for all of them (paged by seq, oldest first), not one per machine; bounded so a huge history
 * cannot stall a list.
 */
async function lastLeases(
  deps: ApiDeps,
  machines: readonly Machine[],
): Promise<Map<string, Lease>> {
  const found = new Map<string, Lease>();
  const machineIds = machines.filter((m) => ADDRESSED.has(m.status)).map((m) => m.id);
  if (machineIds.length === 0) return found;
  let afterSeq: number | undefined;
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const events = await deps.store.listEvents({
      machineIds,
      steps: ['dhcp.ack'],
      afterSeq,
      limit: EVENT_PAGE,
    });
    for (const e of events) {
      const { ip, subnet } = e.data;
      if (e.machineId !== null && typeof ip === 'string' && typeof subnet === 'string') {
        found.set(e.machineId, { ip, subnetCidr: subnet });
      }
    }
    if (events.length < EVENT_PAGE) break;
    afterSeq = events[events.length - 1]?.seq;
  }
  return found;
}

const EVENT_PAGE = 1000;
const MAX_EVENT_PAGES = 20;

/** Shapes `machines` for a response. */
export async function renderMachines(
  deps: ApiDeps,
  machines: readonly Machine[],
): Promise<JsonObject[]> {
  if (machines.length === 0) return [];
  const ids = machines.map((m) => m.id);
  const [users, subnets, reservations, notes, hardware, leases] = await Promise.all([
    deps.users.list({ kind: 'system' }),
    deps.subnets.list(),
    deps.store.listReservations(),
    deps.allocationNotes.forMachines(ids),
    deps.store.listMachineHardware(ids),
    lastLeases(deps, machines),
  ]);
  const hardwareOf = new Map(hardware.map((h) => [h.machineId, h]));
  const names = new Map(users.map((u) => [u.id, u.username]));
  const byMac = new Map<string, Reservation>(reservations.map((r) => [r.mac, r]));
  const shaped: JsonObject[] = [];
  for (const machine of machines) {
    shaped.push(
      machineShape({
        machine,
        ownerName: machine.ownerId === null ? null : (names.get(machine.ownerId) ?? null),
        hardware: hardwareOf.get(machine.id),
        reservations: byMac,
        subnets,
        ownerData: notes.get(machine.id)?.ownerData ?? {},
        leased: leases.get(machine.id),
        domain: MAAS_DOMAIN,
      }),
    );
  }
  return shaped;
}

/** Shapes one machine. */
export async function renderMachine(deps: ApiDeps, machine: Machine): Promise<JsonObject> {
  const [shaped] = await renderMachines(deps, [machine]);
  if (shaped === undefined) throw new Error('renderMachines dropped a machine');
  return shaped;
}
