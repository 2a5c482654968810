/**
 * Builds reply messages (RFC 2131 §4.3.1 Table 3) and decides where they go (§4.1).
 */
import { BOOTREPLY, FLAG_BROADCAST, type DhcpMessage } from '../codec/message.ts';
import {
  findOption,
  MESSAGE_TYPES,
  OPT_BROADCAST_ADDRESS,
  OPT_DNS_SERVERS,
  OPT_DOMAIN_NAME,
  OPT_HOST_NAME,
  OPT_LEASE_TIME,
  OPT_MESSAGE,
  OPT_MESSAGE_TYPE,
  OPT_REBINDING_TIME,
  OPT_RELAY_AGENT_INFO,
  OPT_RENEWAL_TIME,
  OPT_ROUTER,
  OPT_SERVER_ID,
  OPT_SUBNET_MASK,
  optionData,
  type DhcpOption,
  type MessageType,
} from '../codec/options.ts';
import { formatIPv4, ipv4ToBytes, parseIPv4, ZERO_ADDRESS } from '../codec/ipv4.ts';
import type { ServedSubnet } from './network.ts';
import type { BootAnswer } from './pxe.ts';
import type { DhcpReply, DhcpRequest } from './types.ts';

/** RFC 2131 §4.1: servers listen on 67, clients on 68. */
export const SERVER_PORT = 67;
/** RFC 2131 §4.1 client port. */
export const CLIENT_PORT = 68;
/** PXE spec §2.2: the boot-server (proxyDHCP) port. */
export const PXE_PORT = 4011;
const BROADCAST = '255.255.255.255';

/** What a reply carries beyond the header copied from the request. */
export interface ReplyContent {
  readonly type: Extract<MessageType, 'offer' | 'ack' | 'nak'>;
  readonly yiaddr?: string | undefined;
  readonly serverId: string;
  /** Subnet parameters (mask, router, DNS …); absent in NAKs and proxy replies. */
  readonly subnet?: ServedSubnet | undefined;
  /** Lease time; absent for INFORM ACKs (RFC 2131 §3.4) and proxy replies. */
  readonly leaseSeconds?: number | undefined;
  readonly hostname?: string | undefined;
  readonly boot?: BootAnswer | undefined;
  /** NAK text (option 56). */
  readonly text?: string | undefined;
}

/** Builds the reply message for `request` (header fields per RFC 2131 Table 3). */
export function buildReply(request: DhcpMessage, content: ReplyContent): DhcpMessage {
  const options: DhcpOption[] = [
    { code: OPT_MESSAGE_TYPE, data: optionData.u8(MESSAGE_TYPES[content.type]) },
    { code: OPT_SERVER_ID, data: ipv4ToBytes(content.serverId) },
  ];
  if (content.leaseSeconds !== undefined) {
    const lease = content.leaseSeconds;
    options.push({ code: OPT_LEASE_TIME, data: optionData.u32(lease) });
    // RFC 2131 §4.4.5 defaults: T1 = 0.5 × lease, T2 = 0.875 × lease.
    options.push({ code: OPT_RENEWAL_TIME, data: optionData.u32(Math.floor(lease / 2)) });
    options.push({ code: OPT_REBINDING_TIME, data: optionData.u32(Math.floor(lease * 0.875)) });
  }
  if (content.subnet !== undefined) options.push(...subnetOptions(content.subnet));
  if (content.hostname !== undefined && content.hostname !== '') {
    options.push({ code: OPT_HOST_NAME, data: optionData.text(content.hostname) });
  }
  if (content.text !== undefined) {
    options.push({ code: OPT_MESSAGE, data: optionData.text(content.text) });
  }
  if (content.boot !== undefined) options.push(...content.boot.options);
  // RFC 3046 §2.2: relay agent information is echoed back unchanged, and last.
  const relayInfo = findOption(request.options, OPT_RELAY_AGENT_INFO);
  if (relayInfo !== undefined) options.push({ code: OPT_RELAY_AGENT_INFO, data: relayInfo });
  const nak = content.type === 'nak';
  return {
    op: BOOTREPLY,
    htype: request.htype,
    hlen: request.hlen,
    hops: 0,
    xid: request.xid,
    secs: 0,
    // RFC 2131 §4.3.2: a NAK through a relay sets the broadcast bit so the relay broadcasts it.
    flags: nak && request.giaddr !== ZERO_ADDRESS ? request.flags | FLAG_BROADCAST : request.flags,
    ciaddr: nak || content.type === 'offer' ? ZERO_ADDRESS : request.ciaddr,
    yiaddr: content.yiaddr ?? ZERO_ADDRESS,
    siaddr: content.boot?.siaddr ?? ZERO_ADDRESS,
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    sname: '',
    file: content.boot?.file ?? '',
    options,
  };
}

function subnetOptions(served: ServedSubnet): DhcpOption[] {
  const { subnet, cidr } = served;
  const options: DhcpOption[] = [
    { code: OPT_SUBNET_MASK, data: optionData.u32(cidr.mask) },
    {
      code: OPT_BROADCAST_ADDRESS,
      data: ipv4ToBytes(formatIPv4((cidr.network | ~cidr.mask) >>> 0)),
    },
  ];
  if (parseIPv4(subnet.gateway) !== undefined && subnet.gateway !== ZERO_ADDRESS) {
    options.push({ code: OPT_ROUTER, data: ipv4ToBytes(subnet.gateway) });
  }
  const dns = subnet.dnsServers.filter((server) => parseIPv4(server) !== undefined);
  if (dns.length > 0) {
    const data = new Uint8Array(dns.length * 4);
    dns.forEach((server, index) => data.set(ipv4ToBytes(server), index * 4));
    options.push({ code: OPT_DNS_SERVERS, data });
  }
  if (subnet.domain !== '') {
    options.push({ code: OPT_DOMAIN_NAME, data: optionData.text(subnet.domain) });
  }
  return options;
}

/**
 * RFC 2131 §4.1 reply addressing:
 * - relayed (`giaddr` set): to the relay's server port 67;
 * - a NAK not relayed: broadcast;
 * - `ciaddr` set (RENEWING, INFORM): unicast to it;
 * - otherwise broadcast. Unicasting to `yiaddr` would need an ARP entry the client cannot
 *   answer for yet; we do not inject ARP entries, and broadcasting is always allowed.
 * PXE boot-server requests (port 4011) are answered to their source address and port.
 */
export function replyDestination(request: DhcpRequest, reply: DhcpMessage): DhcpReply['to'] {
  const ifName = request.ifName;
  const { message } = request;
  if (message.giaddr !== ZERO_ADDRESS)
    return { address: message.giaddr, port: SERVER_PORT, ifName };
  if (request.localPort === PXE_PORT) {
    return { address: request.remoteAddress, port: request.remotePort, ifName };
  }
  const nak = reply.options[0]?.data[0] === MESSAGE_TYPES.nak;
  if (!nak && message.ciaddr !== ZERO_ADDRESS) {
    return { address: message.ciaddr, port: CLIENT_PORT, ifName };
  }
  return { address: BROADCAST, port: CLIENT_PORT, ifName };
}
