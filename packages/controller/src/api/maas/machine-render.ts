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

/**
 * The address in the machine's last `dhcp.ack` step (the rack's lease to its boot interface), for
 * machines running an OS: what Juju connects to when no address is reserved.
 */
async function lastLease(
  deps: ApiDeps,
  machine: Machine,
): Promise<{ ip: string; subnetCidr: string } | undefined> {
  if (!ADDRESSED.has(machine.status)) return undefined;
  let found: { ip: string; subnetCidr: string } | undefined;
  let afterSeq: number | undefined;
  // Pages of the machine's events, oldest first; bounded so a huge history cannot stall a list.
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const events = await deps.store.listEvents({
      machineId: machine.id,
      afterSeq,
      limit: EVENT_PAGE,
    });
    for (const e of events) {
      const { ip, subnet } = e.data;
      if (e.step === 'dhcp.ack' && typeof ip === 'string' && typeof subnet === 'string') {
        found = { ip, subnetCidr: subnet };
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
  const [users, subnets, reservations, notes] = await Promise.all([
    deps.users.list({ kind: 'system' }),
    deps.subnets.list(),
    deps.store.listReservations(),
    deps.allocationNotes.forMachines(machines.map((m) => m.id)),
  ]);
  const names = new Map(users.map((u) => [u.id, u.username]));
  const byMac = new Map<string, Reservation>(reservations.map((r) => [r.mac, r]));
  const shaped: JsonObject[] = [];
  for (const machine of machines) {
    shaped.push(
      machineShape({
        machine,
        ownerName: machine.ownerId === null ? null : (names.get(machine.ownerId) ?? null),
        hardware: await deps.store.getMachineHardware(machine.id),
        reservations: byMac,
        subnets,
        ownerData: notes.get(machine.id)?.ownerData ?? {},
        leased: await lastLease(deps, machine),
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
