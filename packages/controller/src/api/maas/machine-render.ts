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
