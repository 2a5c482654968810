/**
 * What each rack must know of the network: the subnets it serves and their reservations. Any
 * change queues a fresh, whole `network-config` command for the racks concerned (superseding one
 * still pending), through the same durable command queue as boot plans.
 */
import type { RackNetworkConfig, Subnet } from '../domain/network/subnet.ts';
import type { Rack } from '../domain/rack.ts';
import { uuid } from './ids.ts';
import type { Store } from './ports.ts';

/** Whether `subnet` is served by `rack`: assigned to it, or unassigned when it is the only rack. */
function serves(subnet: Subnet, rack: Rack, rackCount: number): boolean {
  return subnet.rackId === rack.id || (subnet.rackId === null && rackCount === 1);
}

/** Computes the network config `rack` should hold (version 0: not yet numbered). */
export async function networkConfigFor(
  tx: Store,
  rack: Rack,
): Promise<Omit<RackNetworkConfig, 'version'>> {
  const racks = await tx.listRacks();
  const subnets = (await tx.listSubnets()).filter((s) => serves(s, rack, racks.length));
  const reservations = [];
  for (const subnet of subnets) {
    for (const r of await tx.listReservations(subnet.id)) {
      const machine = await tx.getMachineByMac(r.mac);
      reservations.push({
        ...r,
        hostname: r.hostname ?? machine?.hostname ?? null,
        machineId: machine?.id ?? null,
      });
    }
  }
  return { subnets, reservations };
}

/**
 * Queues the current network config for one rack. Returns the version queued. Versions only
 * grow: the clock, or one past the last queued version if the clock went back.
 */
export async function queueNetworkConfig(tx: Store, rack: Rack, nowMs: number): Promise<number> {
  const config = await networkConfigFor(tx, rack);
  const version = Math.max(nowMs, rack.networkConfigVersion + 1);
  await tx.dropPendingRackCommands({ rackId: rack.id }, 'network-config', nowMs);
  await tx.insertRackCommand({
    id: uuid(),
    rackId: rack.id,
    machineId: null,
    body: {
      kind: 'network-config',
      version,
      subnets: config.subnets,
      reservations: config.reservations,
    },
    createdAtMs: nowMs,
  });
  await tx.setRackNetworkConfigVersion(rack.id, version);
  return version;
}

/** Queues the current network config for every rack; returns the rack ids to notify. */
export async function queueNetworkConfigForAll(tx: Store, nowMs: number): Promise<string[]> {
  const racks = await tx.listRacks();
  for (const rack of racks) await queueNetworkConfig(tx, rack, nowMs);
  return racks.map((r) => r.id);
}
