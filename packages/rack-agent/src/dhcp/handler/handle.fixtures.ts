/**
 * Shared fixtures for the handler tests: a five-subnet rack (two attached managed segments, one
 * relayed, one proxy, one off) and request builders.
 * @internal
 */
import type { MacAddress } from '../../domain/mac-address.ts';
import type { NetworkConfig, Subnet } from '../../domain/network-config.ts';
import { BOOTREQUEST, type DhcpMessage } from '../codec/message.ts';
import { addressOption, messageTypeOf, optionData, type DhcpOption } from '../codec/options.ts';
import { ipv4ToBytes } from '../codec/ipv4.ts';
import { createLeaseBook, type LeaseBook } from '../leases.ts';
import { compileNetwork, type CompiledNetwork } from './network.ts';
import type { DhcpContext, DhcpRequest, HandleResult } from './types.ts';

export const MAC = '52:54:00:00:00:01' as MacAddress;
export const RESERVED_MAC = '52:54:00:00:00:99' as MacAddress;

const subnet = (cidr: string, iface: string, extra: Partial<Subnet> = {}): Subnet => {
  const base = cidr.split('.').slice(0, 3).join('.');
  return {
    cidr,
    gateway: `${base}.1`,
    dnsServers: [`${base}.1`],
    dynamicRanges: [{ start: `${base}.100`, end: `${base}.102` }],
    leaseSeconds: 600,
    domain: 'lab',
    dhcpMode: 'managed',
    interface: iface,
    ...extra,
  };
};

export const CONFIG: NetworkConfig = {
  version: 1,
  subnets: [
    subnet('172.31.1.0/24', 'eth1'),
    subnet('172.31.2.0/24', 'eth2'),
    subnet('172.31.3.0/24', ''), // relayed: the agent has no address here
    subnet('172.31.4.0/24', 'eth4', { dhcpMode: 'proxy' }),
    subnet('172.31.5.0/24', 'eth5', { dhcpMode: 'none' }),
  ],
  reservations: [{ mac: RESERVED_MAC, ip: '172.31.1.50', hostname: 'node-9', machineId: 'm-9' }],
};

export function network(): CompiledNetwork {
  return compileNetwork(CONFIG, {
    localAddresses: [1, 2, 4, 5].map((n) => ({ ifName: `eth${n}`, address: `172.31.${n}.1` })),
    relayServerAddress: '172.31.1.1',
  });
}

export interface Env {
  readonly leases: LeaseBook;
  nowMs: number;
  readonly known: Map<string, string>;
}

export const newEnv = (): Env => ({
  leases: createLeaseBook(),
  nowMs: 1_000_000,
  known: new Map(),
});
export const context = (env: Env): DhcpContext => ({
  network: network(),
  leases: env.leases,
  nowMs: env.nowMs,
  machineFor: (mac) => env.known.get(mac),
});

export const option = (code: number, data: Uint8Array | string): DhcpOption => ({
  code,
  data: typeof data === 'string' ? optionData.text(data) : data,
});
export const TYPE = { discover: 1, request: 3, decline: 4, release: 7, inform: 8 } as const;

export function request(
  type: keyof typeof TYPE,
  fields: Partial<DhcpMessage> & { mac?: string; extra?: DhcpOption[] } = {},
  via: Partial<DhcpRequest> = { ifName: 'eth1' },
): DhcpRequest {
  const chaddr = new Uint8Array(16);
  (fields.mac ?? MAC).split(':').forEach((h, i) => (chaddr[i] = parseInt(h, 16)));
  const message: DhcpMessage = {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 42,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    ...fields,
    options: [option(53, optionData.u8(TYPE[type])), ...(fields.extra ?? [])],
  };
  return { message, localPort: 67, remoteAddress: '0.0.0.0', remotePort: 68, ...via };
}

export const requested = (ip: string): DhcpOption => option(50, ipv4ToBytes(ip));
export const serverId = (ip: string): DhcpOption => option(54, ipv4ToBytes(ip));
export const arch = (code: number): DhcpOption =>
  option(93, new Uint8Array([code >> 8, code & 255]));
export const PXE = option(60, 'PXEClient:Arch:00000:UNDI:002001');

export function summary(result: HandleResult): Record<string, unknown> {
  const reply = result.reply;
  if (reply === undefined) return { dropped: result.dropped };
  return {
    type: messageTypeOf(reply.message.options),
    yiaddr: reply.message.yiaddr,
    to: `${reply.to.address}:${reply.to.port}${reply.to.ifName === undefined ? '' : `%${reply.to.ifName}`}`,
    serverId: addressOption(reply.message.options, 54),
    file: reply.message.file,
    siaddr: reply.message.siaddr,
  };
}

export interface Case {
  readonly before?: (env: Env) => void;
  readonly request: DhcpRequest;
  readonly expected: Record<string, unknown>;
}
