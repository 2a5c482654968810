/**
 * `DatagramTransport` over `node:dgram`: the adapter for one segment per agent, relayed-only
 * racks, loopback tests and benchmarks. It cannot tell the arrival interface (`ifName` stays
 * undefined) nor pick the outgoing one; see dhcp/DESIGN.md and {@link createDeviceTransport}.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Datagram, DatagramTransport } from './datagram-transport.ts';

/** Where to bind. */
export interface UdpTransportOptions {
  /** Address to bind; `0.0.0.0` (default) is required to receive broadcasts. */
  readonly address?: string | undefined;
  /** Port to bind; 0 lets the OS choose. */
  readonly port: number;
  /** Allow sending to broadcast addresses (DHCP replies to unconfigured clients). */
  readonly broadcast?: boolean | undefined;
  /** Kernel receive buffer, bytes; bursts of DISCOVERs overflow the default. */
  readonly receiveBufferBytes?: number | undefined;
}

/** Binds a UDP socket; rejects if the bind fails (port in use, no permission). */
export async function createUdpTransport(options: UdpTransportOptions): Promise<DatagramTransport> {
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: options.address ?? '0.0.0.0', port: options.port }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  if (options.broadcast === true) socket.setBroadcast(true);
  if (options.receiveBufferBytes !== undefined)
    socket.setRecvBufferSize(options.receiveBufferBytes);
  // After bind, errors are per-send (reported to `send`'s promise); keep the process alive.
  socket.on('error', () => undefined);
  let closed = false;
  return {
    onMessage(handler: (datagram: Datagram) => void) {
      socket.on('message', (data, remote) => {
        handler({ data, remoteAddress: remote.address, remotePort: remote.port });
      });
    },
    send(data, to) {
      return new Promise((resolve, reject) => {
        socket.send(data, to.port, to.address, (error) => {
          if (error === null) resolve();
          else reject(error);
        });
      });
    },
    localAddress() {
      const bound = socket.address();
      return { address: bound.address, port: bound.port };
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
