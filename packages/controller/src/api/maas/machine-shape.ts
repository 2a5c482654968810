/**
 * A machine in MAAS 2.0's shape. The fields and JSON types follow what MAAS sends and what
 * gomaasapi's `machine_2_0` schema requires of it: `memory` and `cpu_count` integers,
 * `owner_data` and `hardware_info` maps of strings, `status_message` and `boot_interface` possibly
 * null, `interface_set` entries with `links` (subnet with VLAN), block devices with partitions.
 * Pure: the routes gather the facts, this only shapes them.
 */
import type { Machine } from '../../domain/machine/machine.ts';
import type { Disk, MachineHardware } from '../../domain/metadata/hardware.ts';
import type { Reservation, Subnet } from '../../domain/network/subnet.ts';
import { interfaceShape, type JsonObject, type NicFacts } from './network-shape.ts';
import { MAAS_API_ROOT, stableId } from './resource-ids.ts';
import { maasStatusOf } from './status-map.ts';

/** Everything a machine's MAAS shape is made of. */
export interface MachineFacts {
  readonly machine: Machine;
  readonly ownerName: string | null;
  /** What commissioning found, if it ran. */
  readonly hardware: MachineHardware | undefined;
  /** Address reservations, by MAC. */
  readonly reservations: ReadonlyMap<string, Reservation>;
  readonly subnets: readonly Subnet[];
  readonly ownerData: Readonly<Record<string, string>>;
  /** The address the rack last leased to the machine's boot interface (its last `dhcp.ack`). */
  readonly leased: { readonly ip: string; readonly subnetCidr: string } | undefined;
  /** The domain machines' FQDNs end in. */
  readonly domain: string;
}

/** MAAS names architectures `arch/subarch`; Ingot deploys generic kernels. */
export function maasArchitecture(arch: string): string {
  return `${arch}/generic`;
}

/** The integer id of a machine's disk. */
export function blockDeviceId(machineId: string, diskName: string): number {
  return stableId('blockdevice', machineId, diskName);
}

/**
 * The machine's disks: commissioning's facts, or, when the operator supplied only a storage size,
 * one disk of that size (what Ingot knows, and what a `storage` constraint matched).
 */
export function disksOf(machine: Machine, hardware: MachineHardware | undefined): Disk[] {
  if (hardware !== undefined && hardware.disks.length > 0) return [...hardware.disks];
  if (machine.storageGib <= 0) return [];
  return [{ name: 'sda', sizeBytes: machine.storageGib * 2 ** 30, model: '', serial: '' }];
}

function blockDeviceShape(machineId: string, disk: Disk): JsonObject {
  const id = blockDeviceId(machineId, disk.name);
  return {
    id,
    name: disk.name,
    type: 'physical',
    path: `/dev/disk/by-dname/${disk.name}`,
    id_path: disk.serial === '' ? null : `/dev/disk/by-id/${disk.serial}`,
    model: disk.model === '' ? null : disk.model,
    serial: disk.serial === '' ? null : disk.serial,
    uuid: null,
    size: disk.sizeBytes,
    block_size: 512,
    used_size: 0,
    available_size: disk.sizeBytes,
    used_for: 'Unused',
    tags: [],
    filesystem: null,
    partitions: [],
    partition_table_type: null,
    storage_pool: null,
    system_id: machineId,
    resource_uri: `${MAAS_API_ROOT}/nodes/${machineId}/blockdevices/${id}/`,
  };
}

/** The machine's NICs: commissioning's facts, else its known MACs named eth0, eth1, … */
function nicsOf(f: MachineFacts): NicFacts[] {
  const { machine } = f;
  const listed =
    f.hardware !== undefined && f.hardware.nics.length > 0
      ? f.hardware.nics.map((n) => ({ name: n.name, mac: n.mac }))
      : machine.macs.map((mac, i) => ({ name: `eth${i}`, mac }));
  // A MAC the machine is known by but commissioning did not list still belongs to it.
  for (const mac of machine.macs) {
    if (!listed.some((n) => n.mac === mac)) listed.push({ name: `eth${listed.length}`, mac });
  }
  const served = f.subnets.filter((s) => s.rackId !== null && s.rackId === machine.rackId);
  return listed.map((n) => {
    const reservation = f.reservations.get(n.mac);
    if (reservation !== undefined) {
      const subnet = f.subnets.find((s) => s.id === reservation.subnetId);
      return { machineId: machine.id, name: n.name, mac: n.mac, subnet, ip: reservation.ip };
    }
    // The boot interface's dynamic lease, on the subnet it came from.
    const leased = n.mac === machine.macs[0] ? f.leased : undefined;
    const leasedSubnet = f.subnets.find((s) => s.cidr === leased?.subnetCidr);
    const subnet = leasedSubnet ?? (served.length === 1 ? served[0] : undefined);
    const ip = leased !== undefined && leasedSubnet !== undefined ? leased.ip : undefined;
    return { machineId: machine.id, name: n.name, mac: n.mac, subnet, ip };
  });
}

/** The MAAS machine object. */
export function machineShape(f: MachineFacts): JsonObject {
  const { machine } = f;
  const status = maasStatusOf(machine);
  const nics = nicsOf(f);
  const interfaces = nics.map(interfaceShape);
  // The boot interface is the one the machine network-boots from: its first known MAC.
  const bootMac = machine.macs[0];
  const bootIndex = nics.findIndex((n) => n.mac === bootMac);
  const disks = disksOf(machine, f.hardware).map((d) => blockDeviceShape(machine.id, d));
  const storageMb = disks.reduce((sum, d) => sum + Number(d.size) / 1e6, 0);
  const ipAddresses = nics.flatMap((n) => (n.ip === undefined ? [] : [n.ip]));
  const deployment = machine.deployment;
  const showsOs =
    deployment !== null &&
    (machine.status === 'deploying' ||
      machine.status === 'deployed' ||
      machine.status === 'failed_deployment');
  const hostname = machine.hostname.split('.')[0] ?? machine.hostname;
  return {
    system_id: machine.id,
    hostname,
    fqdn: machine.hostname.includes('.') ? machine.hostname : `${machine.hostname}.${f.domain}`,
    domain: { name: f.domain, id: stableId('domain', f.domain) },
    description: '',
    node_type: 0,
    node_type_name: 'Machine',
    status: status.code,
    status_name: status.name,
    status_message: machine.statusMessage === '' ? null : machine.statusMessage,
    status_action: '',
    architecture: maasArchitecture(machine.arch),
    cpu_count: machine.cpuCount,
    memory: machine.memoryMib,
    storage: Math.round(storageMb * 10) / 10,
    osystem: showsOs ? deployment.os : '',
    distro_series: showsOs ? deployment.release : '',
    hwe_kernel: showsOs ? deployment.kernel : null,
    min_hwe_kernel: '',
    ephemeral_deploy: showsOs ? deployment.ephemeral : false,
    power_state: machine.powerState,
    power_type: machine.power?.type ?? '',
    owner: f.ownerName,
    owner_data: { ...f.ownerData },
    locked: machine.locked,
    netboot: machine.status !== 'deployed' || (deployment?.ephemeral ?? false),
    tag_names: [...machine.tags],
    zone: {
      id: stableId('zone', machine.zone),
      name: machine.zone,
      description: '',
      resource_uri: `${MAAS_API_ROOT}/zones/${encodeURIComponent(machine.zone)}/`,
    },
    pool: {
      id: stableId('pool', machine.pool),
      name: machine.pool,
      description: '',
      resource_uri: `${MAAS_API_ROOT}/resourcepool/${stableId('pool', machine.pool)}/`,
    },
    ip_addresses: ipAddresses,
    boot_interface: bootIndex < 0 ? null : (interfaces[bootIndex] ?? null),
    interface_set: interfaces,
    boot_disk: disks[0] ?? null,
    physicalblockdevice_set: disks,
    blockdevice_set: disks,
    hardware_info: {
      system_vendor: 'Unknown',
      system_product: 'Unknown',
      system_version: 'Unknown',
      system_serial: 'Unknown',
      cpu_model: 'Unknown',
      mainboard_vendor: 'Unknown',
      mainboard_product: 'Unknown',
    },
    address_ttl: null,
    resource_uri: `${MAAS_API_ROOT}/machines/${machine.id}/`,
  };
}
