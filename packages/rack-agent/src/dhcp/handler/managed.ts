/**
 * The full DHCP server decision for a subnet in `managed` mode (RFC 2131 §4.3): addresses from
 * reservations first, then the client's previous lease, then its requested address, then the
 * dynamic ranges. No ping check before an OFFER (TOOLCHAIN.md: dnsmasq's costs iPXE 3 s); a
 * client that finds the address in use DECLINEs it and the address is quarantined instead.
 */
import type { MacAddress } from '../../domain/mac-address.ts';
import { ZERO_ADDRESS } from '../codec/ipv4.ts';
import {
  addressOption,
  OPT_REQUESTED_IP,
  OPT_SERVER_ID,
  textOption,
  OPT_HOST_NAME,
} from '../codec/options.ts';
import type { DhcpMessage } from '../codec/message.ts';
import type { Lease } from '../leases.ts';
import { inDynamicRange, subnetContaining, type ServedSubnet } from './network.ts';
import { bootAnswer, bootClientOf, isNetworkBoot, type BootClient } from './pxe.ts';
import { buildReply, replyDestination, type ReplyContent } from './reply.ts';
import type { DhcpContext, DhcpEffect, DhcpRequest, HandleResult } from './types.ts';

/** A request already matched to its subnet and client. */
export interface ManagedRequest {
  readonly request: DhcpRequest;
  readonly served: ServedSubnet;
  readonly mac: MacAddress;
}

const silent = (dropped: HandleResult['dropped'], effects: DhcpEffect[] = []): HandleResult => ({
  effects,
  dropped,
});

/** DHCPDISCOVER → DHCPOFFER (RFC 2131 §4.3.1). */
export function handleDiscover(input: ManagedRequest, context: DhcpContext): HandleResult {
  const { request, mac } = input;
  const client = bootClientOf(request.message);
  const effects = enlistEffects(input, client, context);
  const ip = chooseAddress(input, context);
  if (ip === undefined) return silent('pool-exhausted', effects);
  const previous = context.leases.byIp(ip);
  // An address this client already holds stays bound; a new one is held for the REQUEST.
  const keepsBinding =
    previous?.mac === mac && previous.state === 'bound' && previous.expiresAtMs > context.nowMs;
  if (!keepsBinding) {
    context.leases.put(
      leaseFor(input, ip, 'offered', context.nowMs + context.network.offerHoldMs, client, context),
    );
  }
  return {
    reply: reply(input, client, context, { type: 'offer', yiaddr: ip }),
    effects,
  };
}

/**
 * DHCPREQUEST → DHCPACK or DHCPNAK (RFC 2131 §4.3.2). The client's state decides which address
 * it asks for: SELECTING (54 and 50 set), INIT-REBOOT (50 only), RENEWING/REBINDING (`ciaddr`).
 */
export function handleRequest(input: ManagedRequest, context: DhcpContext): HandleResult {
  const { request, served, mac } = input;
  const message = request.message;
  const serverId = addressOption(message.options, OPT_SERVER_ID);
  const selecting = serverId !== undefined;
  const ip =
    message.ciaddr !== ZERO_ADDRESS
      ? message.ciaddr
      : addressOption(message.options, OPT_REQUESTED_IP);
  if (selecting && !context.network.serverAddresses.has(serverId)) {
    // The client chose another server's offer: free the address we held for it, say nothing.
    const held = context.leases.byMac(mac, served.subnet.cidr);
    if (held?.state === 'offered')
      context.leases.put({ ...held, state: 'released', updatedAtMs: context.nowMs });
    return silent('other-server');
  }
  if (ip === undefined) return nak(input, 'no address requested');
  if (subnetContaining([served], ip) === undefined) return nak(input, 'wrong subnet');
  const reservation = context.network.reservationsByMac.get(mac);
  const reservedHere =
    reservation !== undefined && subnetContaining([served], reservation.ip) !== undefined;
  if (reservedHere && reservation.ip !== ip) return nak(input, 'address reserved elsewhere');
  if (!reservedHere && context.network.reservedIps.has(ip)) return nak(input, 'address reserved');
  const current = context.leases.byIp(ip);
  const ours = current?.mac === mac;
  if (!ours && !context.leases.isAvailable(ip, mac, context.nowMs)) {
    return nak(input, 'address in use');
  }
  if (!reservedHere && !inDynamicRange(served, ip)) {
    // INIT-REBOOT or RENEWING for an address we never gave: RFC 2131 §4.3.2 says stay silent
    // when we have no record, but an address outside our ranges on our own subnet is wrong.
    return ours ? ackLease(input, context, ip, current) : nak(input, 'address not in pool');
  }
  return ackLease(input, context, ip, current);
}

function ackLease(
  input: ManagedRequest,
  context: DhcpContext,
  ip: string,
  current: Lease | undefined,
): HandleResult {
  const client = bootClientOf(input.request.message);
  const leaseMs = input.served.subnet.leaseSeconds * 1000;
  const renewing = current?.mac === input.mac && current.state === 'bound';
  const lease = leaseFor(input, ip, 'bound', context.nowMs + leaseMs, client, context);
  context.leases.put(lease);
  const built = reply(input, client, context, {
    type: 'ack',
    yiaddr: ip,
  });
  return {
    reply: built,
    effects: [
      { kind: 'lease', action: renewing ? 'renewed' : 'bound', lease },
      {
        kind: 'ack',
        mac: input.mac,
        ip,
        machineId:
          context.machineFor(input.mac) ??
          context.network.reservationsByMac.get(input.mac)?.machineId,
        clientArch: client.arch,
        bootFile: built.message.file,
        subnetCidr: input.served.subnet.cidr,
      },
    ],
  };
}

/** DHCPDECLINE (RFC 2131 §4.3.3): the address is in use by someone else; quarantine it. */
export function handleDecline(input: ManagedRequest, context: DhcpContext): HandleResult {
  const ip = addressOption(input.request.message.options, OPT_REQUESTED_IP);
  const current = ip === undefined ? undefined : context.leases.byIp(ip);
  if (current?.mac !== input.mac) return silent('unknown-lease');
  const lease: Lease = {
    ...current,
    mac: '',
    state: 'declined',
    expiresAtMs: context.nowMs + context.network.declineHoldMs,
    updatedAtMs: context.nowMs,
  };
  context.leases.put(lease);
  return silent(undefined, [
    { kind: 'lease', action: 'declined', lease: { ...lease, mac: input.mac } },
  ]);
}

/** DHCPRELEASE (RFC 2131 §4.3.4): the client gives `ciaddr` back; no reply. */
export function handleRelease(input: ManagedRequest, context: DhcpContext): HandleResult {
  const current = context.leases.byIp(input.request.message.ciaddr);
  if (current?.mac !== input.mac || current.state !== 'bound') return silent('unknown-lease');
  const lease: Lease = {
    ...current,
    state: 'released',
    expiresAtMs: context.nowMs,
    updatedAtMs: context.nowMs,
  };
  context.leases.put(lease);
  return silent(undefined, [{ kind: 'lease', action: 'released', lease }]);
}

/** DHCPINFORM (RFC 2131 §4.3.5): configuration only, no lease, unicast to `ciaddr`. */
export function handleInform(input: ManagedRequest, context: DhcpContext): HandleResult {
  const client = bootClientOf(input.request.message);
  const message = buildReply(input.request.message, {
    type: 'ack',
    serverId: input.served.serverAddress,
    subnet: input.served,
    boot: bootAnswer(
      client,
      input.request.message,
      input.mac,
      input.served.serverAddress,
      context.network,
    ),
  });
  return { reply: { message, to: replyDestination(input.request, message) }, effects: [] };
}

function nak(input: ManagedRequest, text: string): HandleResult {
  const message = buildReply(input.request.message, {
    type: 'nak',
    serverId: input.served.serverAddress,
    text,
  });
  return { reply: { message, to: replyDestination(input.request, message) }, effects: [] };
}

function reply(
  input: ManagedRequest,
  client: BootClient,
  context: DhcpContext,
  content: Pick<ReplyContent, 'type' | 'yiaddr'>,
): NonNullable<HandleResult['reply']> {
  const { request, served, mac } = input;
  const message = buildReply(request.message, {
    ...content,
    serverId: served.serverAddress,
    subnet: served,
    leaseSeconds: served.subnet.leaseSeconds,
    hostname: context.network.reservationsByMac.get(mac)?.hostname,
    boot: bootAnswer(client, request.message, mac, served.serverAddress, context.network),
  });
  return { message, to: replyDestination(request, message) };
}

/** Reservation on this subnet, else previous lease, else requested address, else the pool. */
function chooseAddress(input: ManagedRequest, context: DhcpContext): string | undefined {
  const { served, mac, request } = input;
  const { network, leases, nowMs } = context;
  const reservation = network.reservationsByMac.get(mac);
  if (reservation !== undefined && subnetContaining([served], reservation.ip) !== undefined) {
    return reservation.ip;
  }
  const usable = (ip: string | undefined): ip is string =>
    ip !== undefined &&
    inDynamicRange(served, ip) &&
    !network.reservedIps.has(ip) &&
    leases.isAvailable(ip, mac, nowMs);
  const previous = leases.byMac(mac, served.subnet.cidr)?.ip;
  if (usable(previous)) return previous;
  const requested = addressOption(request.message.options, OPT_REQUESTED_IP);
  if (usable(requested)) return requested;
  return leases.findFree(served.ranges, network.reservedIps, mac, nowMs);
}

function leaseFor(
  input: ManagedRequest,
  ip: string,
  state: Lease['state'],
  expiresAtMs: number,
  client: BootClient,
  context: DhcpContext,
): Lease {
  const message: DhcpMessage = input.request.message;
  return {
    ip,
    mac: input.mac,
    subnetCidr: input.served.subnet.cidr,
    state,
    expiresAtMs,
    hostname:
      context.network.reservationsByMac.get(input.mac)?.hostname ??
      textOption(message.options, OPT_HOST_NAME) ??
      '',
    clientArch: client.arch,
    updatedAtMs: context.nowMs,
  };
}

/** An unknown MAC that network-boots is reported once per DISCOVER for enlistment. */
export function enlistEffects(
  input: ManagedRequest,
  client: BootClient,
  context: DhcpContext,
): DhcpEffect[] {
  if (!isNetworkBoot(client)) return [];
  if (context.machineFor(input.mac) !== undefined) return [];
  if (context.network.reservationsByMac.has(input.mac)) return [];
  return [
    {
      kind: 'enlist',
      mac: input.mac,
      clientArch: client.arch,
      vendorClass: client.vendorClass,
      clientUuid: client.uuid,
      subnetCidr: input.served.subnet.cidr,
    },
  ];
}
