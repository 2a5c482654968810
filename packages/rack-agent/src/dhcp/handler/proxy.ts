/**
 * proxyDHCP (PXE spec 2.1 §2.2, smee `handler/proxy`): beside an existing DHCP server that hands
 * out addresses, the agent answers network-booting clients with boot options only: no `yiaddr`,
 * no lease. A DISCOVER on port 67 gets a PXE OFFER; a REQUEST on port 4011 (or naming us in
 * option 54) gets the ACK with the boot file. Everything else belongs to the real server.
 */
import { addressOption, OPT_SERVER_ID } from '../codec/options.ts';
import { PXE_PORT, buildReply, replyDestination } from './reply.ts';
import { enlistEffects, type ManagedRequest } from './managed.ts';
import { bootAnswer, bootClientOf, isNetworkBoot } from './pxe.ts';
import type { DhcpContext, HandleResult } from './types.ts';

/** Answers one request in proxy mode; `type` is the request's DHCP message type. */
export function handleProxy(
  input: ManagedRequest,
  type: 'discover' | 'request' | 'inform',
  context: DhcpContext,
): HandleResult {
  const { request, served, mac } = input;
  const client = bootClientOf(request.message);
  if (!isNetworkBoot(client)) return { effects: [], dropped: 'not-pxe' };
  if (type === 'request') {
    const serverId = addressOption(request.message.options, OPT_SERVER_ID);
    const forUs =
      request.localPort === PXE_PORT ||
      (serverId !== undefined && context.network.serverAddresses.has(serverId));
    if (!forUs) return { effects: [], dropped: 'other-server' };
  }
  const boot = bootAnswer(client, request.message, mac, served.serverAddress, context.network);
  if (boot === undefined) return { effects: [], dropped: 'not-pxe' };
  const message = buildReply(request.message, {
    type: type === 'discover' ? 'offer' : 'ack',
    serverId: served.serverAddress,
    boot,
  });
  const effects =
    type === 'discover'
      ? enlistEffects(input, client, context)
      : [
          {
            kind: 'ack' as const,
            mac,
            ip: request.message.ciaddr,
            machineId:
              context.machineFor(mac) ?? context.network.reservationsByMac.get(mac)?.machineId,
            clientArch: client.arch,
            bootFile: boot.file,
            subnetCidr: served.subnet.cidr,
          },
        ];
  return { reply: { message, to: replyDestination(request, message) }, effects };
}
