/**
 * The DHCP handler: one pure decision per request, `handle(request, context) → HandleResult`
 * (smee's `Handler`, but returning the reply instead of writing it; STYLE.md §8). It reads and
 * updates the lease book through {@link DhcpContext} and never touches a socket or a clock.
 */
import { parseMacAddress } from '../../domain/mac-address.ts';
import { HTYPE_ETHERNET, BOOTREQUEST, hardwareAddress } from '../codec/message.ts';
import { addressOption, messageTypeOf, OPT_REQUESTED_IP } from '../codec/options.ts';
import {
  handleDecline,
  handleDiscover,
  handleInform,
  handleRelease,
  handleRequest,
  type ManagedRequest,
} from './managed.ts';
import { selectSubnet } from './network.ts';
import { handleProxy } from './proxy.ts';
import { PXE_PORT } from './reply.ts';
import type { DhcpContext, DhcpRequest, HandleResult } from './types.ts';

/**
 * Decides what to do with one request. Silent (no reply) for replies from other servers,
 * requests without a message type, subnets the agent does not serve or has DHCP off on, and
 * requests addressed to another server (option 54); see {@link HandleResult.dropped}.
 */
export function handle(request: DhcpRequest, context: DhcpContext): HandleResult {
  const { message } = request;
  if (message.op !== BOOTREQUEST) return { effects: [], dropped: 'not-a-request' };
  const type = messageTypeOf(message.options);
  if (type === undefined) return { effects: [], dropped: 'no-message-type' };
  // We key leases by Ethernet MAC (as MAAS and smee do), so only Ethernet-style chaddr is served.
  const mac =
    message.htype === HTYPE_ETHERNET && message.hlen === 6
      ? parseMacAddress(hardwareAddress(message))
      : undefined;
  if (mac === undefined) return { effects: [], dropped: 'bad-chaddr' };
  const served = selectSubnet(context.network, {
    giaddr: message.giaddr,
    ciaddr: message.ciaddr,
    requestedIp: addressOption(message.options, OPT_REQUESTED_IP),
    ifName: request.ifName,
  });
  if (served === undefined) return { effects: [], dropped: 'subnet-not-served' };
  const input: ManagedRequest = { request, served, mac };
  const mode = served.subnet.dhcpMode;
  if (mode === 'none') return { effects: [], dropped: 'dhcp-disabled' };
  if (mode === 'proxy' || request.localPort === PXE_PORT) {
    if (type === 'discover' || type === 'request' || type === 'inform')
      return handleProxy(input, type, context);
    return { effects: [], dropped: 'ignored-type' };
  }
  switch (type) {
    case 'discover':
      return handleDiscover(input, context);
    case 'request':
      return handleRequest(input, context);
    case 'decline':
      return handleDecline(input, context);
    case 'release':
      return handleRelease(input, context);
    case 'inform':
      return handleInform(input, context);
    case 'offer':
    case 'ack':
    case 'nak':
      return { effects: [], dropped: 'not-a-request' };
  }
}
