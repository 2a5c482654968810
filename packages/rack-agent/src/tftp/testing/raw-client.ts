/**
 * A minimal TFTP read client over `node:dgram`, for server tests that need exact packets
 * (error codes, duplicate requests, silence) rather than a real client's behaviour.
 */
import { createSocket, type Socket } from 'node:dgram';
import { decodePacket, encodePacket, type Packet, type TftpOption } from '../codec/packet.ts';

/** One received packet and where it came from. */
export interface Received {
  readonly packet: Packet;
  readonly port: number;
}

/** A bound client socket that collects what it receives. */
export interface RawClient {
  readonly port: number;
  send(packet: Packet | Uint8Array, port: number): Promise<void>;
  /** The next decodable packet, or `undefined` after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Received | undefined>;
  /** Fetches `filename` with `options` from the server on `port`, ACKing every window. */
  get(
    filename: string,
    port: number,
    options?: readonly TftpOption[],
  ): Promise<{ data: Uint8Array; error?: Packet }>;
  close(): Promise<void>;
}

/** Opens a client on an ephemeral port of 127.0.0.1. */
export async function openRawClient(): Promise<RawClient> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const inbox: Received[] = [];
  let waiter: (() => void) | undefined;
  socket.on('message', (data, info) => {
    const decoded = decodePacket(data);
    if (!decoded.ok) return;
    inbox.push({ packet: decoded.value, port: info.port });
    waiter?.();
  });
  const send = (packet: Packet | Uint8Array, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const wire = packet instanceof Uint8Array ? packet : encodePacket(packet);
      socket.send(wire, port, '127.0.0.1', (e) => (e === null ? resolve() : reject(e)));
    });
  const next = async (timeoutMs = 2000): Promise<Received | undefined> => {
    if (inbox.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      waiter = undefined;
    }
    return inbox.shift();
  };
  return {
    port: socket.address().port,
    send,
    next,
    async get(filename, port, options = []) {
      await send({ opcode: 'rrq', filename, mode: 'octet', options }, port);
      const chunks: Uint8Array[] = [];
      let blksize = 512;
      let windowsize = 1;
      let expected = 1;
      let inWindow = 0;
      for (;;) {
        const received = await next();
        if (received === undefined) throw new Error(`no answer for ${filename}`);
        const { packet } = received;
        if (packet.opcode === 'error') return { data: concat(chunks), error: packet };
        if (packet.opcode === 'oack') {
          for (const o of packet.options) {
            if (o.name === 'blksize') blksize = Number(o.value);
            if (o.name === 'windowsize') windowsize = Number(o.value);
          }
          await send({ opcode: 'ack', block: 0 }, received.port);
          continue;
        }
        if (packet.opcode !== 'data' || packet.block !== (expected & 0xffff)) continue;
        chunks.push(Uint8Array.from(packet.data));
        expected++;
        inWindow++;
        const last = packet.data.length < blksize;
        if (last || inWindow === windowsize) {
          inWindow = 0;
          await send({ opcode: 'ack', block: packet.block }, received.port);
        }
        if (last) return { data: concat(chunks) };
      }
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
