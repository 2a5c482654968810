/**
 * The DHCP server loop (STYLE.md §0 rule 2): transport → decode → handle → encode → transport.
 * It is the only DHCP code that sends datagrams. Work per datagram is bounded: oversized
 * datagrams are dropped before decoding, decoding is linear in the datagram, the handler's
 * pool scan is bounded by the range size, and sends in flight are capped.
 */
import type { Clock, Logger } from '@ingot/common';
import type { LeaseAction } from '../domain/events.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import type { Datagram, DatagramTransport } from '../net/datagram-transport.ts';
import { decodeMessage, encodeMessage } from './codec/message.ts';
import { messageTypeOf, type MessageType } from './codec/options.ts';
import { handle } from './handler/handle.ts';
import type { CompiledNetwork } from './handler/network.ts';
import type { DhcpEffect, DropReason } from './handler/types.ts';
import type { Lease, LeaseBook } from './leases.ts';

/** One socket the server listens on, and the port it stands for (67, or 4011 for PXE). */
export interface DhcpListener {
  readonly transport: DatagramTransport;
  readonly localPort: number;
}

/** A lease change as the server reports it (becomes a `LeaseEvent` in the outbox). */
export interface LeaseChange {
  readonly action: LeaseAction;
  readonly lease: Lease;
}

/** A `dhcp.ack` step: an ACK was sent to a client. */
export type AckNotice = Extract<DhcpEffect, { kind: 'ack' }>;
/** An unknown network-booting MAC, to be enlisted. */
export type EnlistNotice = Extract<DhcpEffect, { kind: 'enlist' }>;

/** Callbacks the composition root wires to the event recorder. Exceptions are logged, not fatal. */
export interface DhcpServerEvents {
  readonly ack?: (notice: AckNotice) => void;
  readonly lease?: (change: LeaseChange) => void;
  readonly enlist?: (notice: EnlistNotice) => void;
  /** A datagram arrived: its option-53 type, `other` without one, `undecodable` (metrics). */
  readonly received?: (type: MessageType | 'other' | 'undecodable') => void;
  /** A reply was handed to the kernel (metrics). */
  readonly replied?: (type: MessageType | 'other') => void;
}

/** What the server needs. */
export interface DhcpServerDeps {
  readonly listeners: readonly DhcpListener[];
  readonly leases: LeaseBook;
  /** The compiled network config; swap it with {@link DhcpServer.setNetwork}. */
  readonly network: CompiledNetwork;
  readonly machineFor: (mac: MacAddress) => string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: DhcpServerEvents | undefined;
  /** How often bound leases are checked for expiry; default 10 s. */
  readonly expirySweepMs?: number | undefined;
  /** An unknown MAC is reported for enlistment at most once per this many ms; default 60 s. */
  readonly enlistIntervalMs?: number | undefined;
}

/** Counters for metrics and tests. */
export interface DhcpServerStats {
  received: number;
  replied: number;
  decodeErrors: number;
  dropped: Partial<Record<DropReason | 'oversized' | 'backpressure' | 'send-failed', number>>;
}

/** A running server. */
export interface DhcpServer {
  /** Replaces the network config (controller push); applies to the next datagram. */
  setNetwork(network: CompiledNetwork): void;
  stats(): DhcpServerStats;
  /** Runs the expiry sweep now (also runs on a timer). */
  sweep(): void;
  /** Stops the sweep and closes the listeners. */
  close(): Promise<void>;
}

/** Largest datagram decoded: options beyond this are not something a DHCP client sends. */
const MAX_DATAGRAM_BYTES = 4096;
/** Sends awaiting the kernel; beyond this, new replies are dropped (clients retransmit). */
const MAX_SENDS_IN_FLIGHT = 4096;
const MAX_ENLIST_MEMORY = 10_000;

/** Starts serving on every listener. */
export function createDhcpServer(deps: DhcpServerDeps): DhcpServer {
  let network = deps.network;
  let inFlight = 0;
  const stats: DhcpServerStats = { received: 0, replied: 0, decodeErrors: 0, dropped: {} };
  const lastEnlistMs = new Map<string, number>();
  const enlistIntervalMs = deps.enlistIntervalMs ?? 60_000;
  const count = (reason: keyof DhcpServerStats['dropped']): void => {
    stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
  };
  const notify = <T>(callback: ((value: T) => void) | undefined, value: T): void => {
    if (callback === undefined) return;
    try {
      callback(value);
    } catch (error: unknown) {
      deps.logger.error('dhcp event callback failed', { error });
    }
  };

  const apply = (effect: DhcpEffect, nowMs: number): void => {
    switch (effect.kind) {
      case 'lease':
        notify(deps.events?.lease, { action: effect.action, lease: effect.lease });
        return;
      case 'ack':
        notify(deps.events?.ack, effect);
        return;
      case 'enlist': {
        const last = lastEnlistMs.get(effect.mac);
        if (last !== undefined && nowMs - last < enlistIntervalMs) return;
        if (lastEnlistMs.size >= MAX_ENLIST_MEMORY) lastEnlistMs.clear();
        lastEnlistMs.set(effect.mac, nowMs);
        notify(deps.events?.enlist, effect);
        return;
      }
    }
  };

  const receive = (listener: DhcpListener, datagram: Datagram): void => {
    stats.received++;
    if (datagram.data.byteLength > MAX_DATAGRAM_BYTES) {
      count('oversized');
      notify(deps.events?.received, 'undecodable');
      return;
    }
    const decoded = decodeMessage(datagram.data);
    if (!decoded.ok) {
      stats.decodeErrors++;
      notify(deps.events?.received, 'undecodable');
      deps.logger.debug('dhcp: undecodable datagram', {
        from: datagram.remoteAddress,
        error: decoded.error.kind,
      });
      return;
    }
    notify(deps.events?.received, messageTypeOf(decoded.value.options) ?? 'other');
    const nowMs = deps.clock.now();
    const result = handle(
      {
        message: decoded.value,
        ifName: datagram.ifName,
        localPort: listener.localPort,
        remoteAddress: datagram.remoteAddress,
        remotePort: datagram.remotePort,
      },
      { network, leases: deps.leases, nowMs, machineFor: deps.machineFor },
    );
    if (result.dropped !== undefined) count(result.dropped);
    for (const effect of result.effects) apply(effect, nowMs);
    const reply = result.reply;
    if (reply === undefined) return;
    if (inFlight >= MAX_SENDS_IN_FLIGHT) {
      count('backpressure');
      return;
    }
    inFlight++;
    listener.transport.send(encodeMessage(reply.message), reply.to).then(
      () => {
        inFlight--;
        stats.replied++;
        notify(deps.events?.replied, messageTypeOf(reply.message.options) ?? 'other');
      },
      (error: unknown) => {
        inFlight--;
        count('send-failed');
        deps.logger.warn('dhcp: send failed', { to: reply.to.address, error });
      },
    );
  };

  for (const listener of deps.listeners) {
    listener.transport.onMessage((datagram) => {
      try {
        receive(listener, datagram);
      } catch (error: unknown) {
        // A handler bug must cost one packet, not the rack's DHCP service.
        deps.logger.error('dhcp: handler failed', { error });
      }
    });
  }

  const sweep = (): void => {
    for (const lease of deps.leases.expire(deps.clock.now(), 1000)) {
      notify(deps.events?.lease, { action: 'expired', lease });
    }
  };
  const timer = setInterval(sweep, deps.expirySweepMs ?? 10_000);
  timer.unref();

  return {
    setNetwork(next) {
      network = next;
    },
    stats: () => structuredClone(stats),
    sweep,
    async close() {
      clearInterval(timer);
      await Promise.all(deps.listeners.map((listener) => listener.transport.close()));
    },
  };
}
