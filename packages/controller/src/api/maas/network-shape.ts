/**
 * Subnets, VLANs, interfaces and links in MAAS 2.0's shape (the fields gomaasapi's `subnet_2_0`,
 * `vlan_2_0`, `interface_2_0` and `link_2_0` require, with their JSON types). Ingot has no fabrics
 * or VLANs: each subnet sits on an untagged VLAN of a fabric of its own, and a NIC no subnet is
 * known for sits on `fabric-0`'s untagged VLAN with no links, as an unconfigured MAAS NIC does.
 */
import type { Subnet } from '../../domain/network/subnet.ts';
import { MAAS_API_ROOT, stableId } from './resource-ids.ts';

/** A JSON object as sent to MAAS clients. */
export type Json =
  null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };
/** A JSON object. */
export type JsonObject = { readonly [k: string]: Json };

/** The fabric a subnet is on: one of its own, or `fabric-0` for no known subnet. */
export function fabricName(subnet: Subnet | undefined): string {
  return subnet === undefined ? 'fabric-0' : `fabric-${subnet.name}`;
}

/** The VLAN a subnet sits on (or fabric-0's untagged VLAN). */
export function vlanShape(subnet: Subnet | undefined): JsonObject {
  const id = subnet === undefined ? stableId('vlan', 'fabric-0') : stableId('vlan', subnet.id);
  const fabric = fabricName(subnet);
  return {
    id,
    name: 'untagged',
    vid: 0,
    mtu: 1500,
    fabric,
    fabric_id: stableId('fabric', fabric),
    dhcp_on: subnet?.dhcpMode === 'managed',
    external_dhcp: null,
    primary_rack: subnet?.rackId ?? null,
    secondary_rack: null,
    relay_vlan: null,
    space: 'undefined',
    resource_uri: `${MAAS_API_ROOT}/vlans/${id}/`,
  };
}

/** A subnet. Ingot subnets are not in spaces: MAAS names that space `undefined`. */
export function subnetShape(subnet: Subnet): JsonObject {
  const id = stableId('subnet', subnet.id);
  return {
    id,
    name: subnet.name,
    cidr: subnet.cidr,
    vlan: vlanShape(subnet),
    space: 'undefined',
    gateway_ip: subnet.gateway,
    dns_servers: [...subnet.dnsServers],
    rdns_mode: 2,
    allow_dns: true,
    allow_proxy: false,
    active_discovery: false,
    managed: subnet.dhcpMode === 'managed',
    resource_uri: `${MAAS_API_ROOT}/subnets/${id}/`,
  };
}

/** One NIC of a machine, with what Ingot knows of its network. */
export interface NicFacts {
  readonly machineId: string;
  readonly name: string;
  readonly mac: string;
  readonly subnet: Subnet | undefined;
  /** Its address: reserved, or leased by the rack's DHCP. */
  readonly ip: string | undefined;
}

/** The integer id of a machine's NIC. */
export function interfaceId(machineId: string, mac: string): number {
  return stableId('interface', machineId, mac);
}

/**
 * A physical interface. It links to its subnet in `dhcp` mode (Ingot's racks hand out every
 * address by DHCP); the link carries the address when one is known.
 */
export function interfaceShape(nic: NicFacts): JsonObject {
  const id = interfaceId(nic.machineId, nic.mac);
  const links: JsonObject[] =
    nic.subnet === undefined
      ? []
      : [
          {
            id: stableId('link', nic.machineId, nic.mac),
            mode: 'dhcp',
            subnet: subnetShape(nic.subnet),
            ...(nic.ip === undefined ? {} : { ip_address: nic.ip }),
          },
        ];
  return {
    id,
    name: nic.name,
    type: 'physical',
    enabled: true,
    mac_address: nic.mac,
    vlan: vlanShape(nic.subnet),
    links,
    tags: [],
    params: '',
    effective_mtu: 1500,
    parents: [],
    children: [],
    discovered: null,
    vendor: null,
    product: null,
    firmware_version: null,
    link_connected: true,
    system_id: nic.machineId,
    resource_uri: `${MAAS_API_ROOT}/nodes/${nic.machineId}/interfaces/${id}/`,
  };
}
