/**
 * The `node:dgram` adapter behind `DatagramTransport` for TFTP: the only TFTP file that
 * imports `node:dgram` (STYLE.md §0 rule 2). TFTP needs its own adapter rather than the DHCP one
 * because every transfer runs on a fresh ephemeral port, its transfer identifier (RFC 1350 §4).
 *
 * A transfer socket is `connect()`ed to its client: the kernel then delivers only that client's
 * datagrams (RFC 1350 §4 TID check) and sends skip the per-datagram address lookup, which is
 * measurably faster on the hot path. The consequence, deliberately accepted: a stray packet from
 * another TID is dropped by the kernel instead of answered with ERROR 5.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Datagram, DatagramTransport, Destination } from '../net/datagram-transport.ts';

/** Where to bind, and optionally the one peer to talk to. */
export interface UdpTransportOptions {
  readonly address: string;
  /** 0 asks the OS for an ephemeral port. */
  readonly port: number;
  /** When set, the socket is connected to this peer and receives from it only. */
  readonly remote?: { readonly address: string; readonly port: number } | undefined;
  /** Socket buffer sizes; larger receive buffers absorb request storms on port 69. */
  readonly receiveBufferBytes?: number | undefined;
  readonly sendBufferBytes?: number | undefined;
  /** Socket errors after binding (ICMP port unreachable on a connected socket, …). */
  readonly onError?: ((error: Error) => void) | undefined;
}

/**
 * Binds a UDP socket and wraps it as a `DatagramTransport`. Rejects if binding or connecting
 * fails (port in use, address not local).
 */
export async function createUdpTransport(options: UdpTransportOptions): Promise<DatagramTransport> {
  const socket = createSocket({ type: isIPv6(options.address) ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: options.address, port: options.port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const remote = options.remote;
  if (remote !== undefined) {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(remote.port, remote.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }
  if (options.receiveBufferBytes !== undefined)
    socket.setRecvBufferSize(options.receiveBufferBytes);
  if (options.sendBufferBytes !== undefined) socket.setSendBufferSize(options.sendBufferBytes);
  const onError = options.onError ?? (() => undefined);
  socket.on('error', onError);
  return new UdpTransport(socket, remote);
}

interface Peer {
  readonly address: string;
  readonly port: number;
}

class UdpTransport implements DatagramTransport {
  readonly #socket: Socket;
  readonly #remote: Peer | undefined;
  #closed: Promise<void> | undefined;

  constructor(socket: Socket, remote: Peer | undefined) {
    this.#socket = socket;
    this.#remote = remote;
  }

  onMessage(handler: (datagram: Datagram) => void): void {
    this.#socket.on('message', (data, info) => {
      handler({ data, remoteAddress: info.address, remotePort: info.port });
    });
  }

  send(data: Uint8Array, to: Destination): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | null): void => {
        if (error === null) resolve();
        else reject(error);
      };
      const remote = this.#remote;
      if (remote !== undefined && remote.port === to.port && remote.address === to.address) {
        this.#socket.send(data, done);
      } else {
        this.#socket.send(data, to.port, to.address, done);
      }
    });
  }

  localAddress(): { address: string; port: number } {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#socket.close(() => resolve());
    });
    return this.#closed;
  }
}
