/**
 * The port DHCP and TFTP code sees instead of `node:dgram` (STYLE.md §0 rule 2). Node's dgram
 * cannot say which interface a datagram arrived on, nor bind to a device (STYLE.md §2), so
 * `ifName` is optional: adapters that can tell (a per-device helper) fill it in, and handlers
 * must cope without it (relay `giaddr`, or one segment per agent).
 */

/** One received datagram. */
export interface Datagram {
  readonly data: Uint8Array;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The interface it arrived on, when the adapter knows. */
  readonly ifName?: string | undefined;
}

/** Where to send a datagram. `ifName` picks the outgoing interface when the adapter can. */
export interface Destination {
  readonly address: string;
  readonly port: number;
  readonly ifName?: string | undefined;
}

/** A bound datagram endpoint. */
export interface DatagramTransport {
  /** Registers the receive handler (one per transport). */
  onMessage(handler: (datagram: Datagram) => void): void;
  send(data: Uint8Array, to: Destination): Promise<void>;
  /** The local address and port actually bound (port 0 → the OS's choice). */
  localAddress(): { address: string; port: number };
  close(): Promise<void>;
}
