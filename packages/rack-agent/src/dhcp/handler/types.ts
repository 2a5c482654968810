/**
 * What goes into and comes out of the DHCP handler. The handler decides; the server carries the
 * decision out (STYLE.md §8: handlers return replies, only the server writes to sockets).
 */
import type { MacAddress } from '../../domain/mac-address.ts';
import type { DhcpMessage } from '../codec/message.ts';
import type { Lease, LeaseBook } from '../leases.ts';
import type { CompiledNetwork } from './network.ts';

/** A decoded request and how it arrived. */
export interface DhcpRequest {
  readonly message: DhcpMessage;
  /** The interface it came in on, when the transport knows (see net/ and dhcp/DESIGN.md). */
  readonly ifName?: string | undefined;
  /** The local port it arrived on: 67, or 4011 for PXE boot-server requests. */
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Where the handler's reply goes. */
export interface ReplyDestination {
  readonly address: string;
  readonly port: number;
  readonly ifName?: string | undefined;
}

/** A reply to send. */
export interface DhcpReply {
  readonly message: DhcpMessage;
  readonly to: ReplyDestination;
}

/** A fact the handler reports; the server turns it into events and callbacks. */
export type DhcpEffect =
  | {
      readonly kind: 'lease';
      readonly action: 'bound' | 'renewed' | 'released' | 'declined';
      readonly lease: Lease;
    }
  | {
      /** An ACK went out: the `dhcp.ack` step of DESIGN.md §3. */
      readonly kind: 'ack';
      readonly mac: MacAddress;
      readonly ip: string;
      readonly machineId: string | undefined;
      readonly clientArch: number;
      readonly bootFile: string;
      readonly subnetCidr: string;
    }
  | {
      /** A MAC no machine or reservation knows is network-booting (DESIGN.md §2, enlistment). */
      readonly kind: 'enlist';
      readonly mac: MacAddress;
      readonly clientArch: number;
      readonly vendorClass: string;
      readonly clientUuid: string | undefined;
      readonly subnetCidr: string;
    };

/** Why the handler stayed silent; logged at debug level and counted. */
export type DropReason =
  | 'not-a-request'
  | 'no-message-type'
  | 'bad-chaddr'
  | 'subnet-not-served'
  | 'dhcp-disabled'
  | 'other-server'
  | 'pool-exhausted'
  | 'unknown-lease'
  | 'not-pxe'
  | 'ignored-type';

/** The handler's decision: at most one reply, any number of effects. */
export interface HandleResult {
  readonly reply?: DhcpReply | undefined;
  readonly effects: readonly DhcpEffect[];
  readonly dropped?: DropReason | undefined;
}

/** Everything a decision may consult. */
export interface DhcpContext {
  readonly network: CompiledNetwork;
  readonly leases: LeaseBook;
  readonly nowMs: number;
  /** The machine a MAC belongs to (from boot plans), if known. */
  readonly machineFor: (mac: MacAddress) => string | undefined;
}
