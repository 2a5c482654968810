/**
 * A TFTP read as a PXE ROM does it: RRQ with `tsize` and `blksize`, OACK answered with ACK 0,
 * every DATA block acknowledged, lost packets retransmitted after a timeout (RFC 1350 §2), from
 * the machine's leased address. The bytes are hashed and dropped.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { decodeServerPacket, encodeAck, encodeError, encodeRrq } from './tftp-packet.ts';

/** What a finished read gave. */
export interface TftpResult {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Reads `filename` from `server:port`, bound to `localAddress`. Resolves with the size and sha256,
 * or rejects after `retries` timeouts in a row, an ERROR packet, `timeoutMs` overall, or abort.
 */
export function tftpRead(options: {
  server: string;
  port?: number;
  filename: string;
  localAddress: string;
  blksize?: number;
  retryMs?: number;
  retries?: number;
  timeoutMs?: number;
  /** How long the socket stays open after the final ACK (default 2 × `retryMs`). */
  dallyMs?: number;
  signal: AbortSignal;
}): Promise<TftpResult> {
  const blksize = options.blksize ?? 1432;
  const retryMs = options.retryMs ?? 1000;
  const retries = options.retries ?? 5;
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const hash = createHash('sha256');
    let bytes = 0;
    let expected = 1;
    let peerPort: number | undefined;
    let last: Uint8Array = encodeRrq(options.filename, { tsize: '0', blksize: String(blksize) });
    let lastPort = options.port ?? 69;
    let misses = 0;
    let timer: NodeJS.Timeout | undefined;
    let size = 512;
    const overall = setTimeout(
      () => done(new Error(`TFTP ${options.filename}: timed out`)),
      options.timeoutMs ?? 60_000,
    );
    let finished = false;
    const done = (error: Error | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(overall);
      options.signal.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve({ bytes, sha256: hash.digest('hex') });
        // RFC 1350 §6: the side sending the final ACK should dally, re-acknowledging a
        // retransmitted final DATA (its ACK was lost) instead of leaving the server to time out.
        setTimeout(() => socket.close(), dallyMs);
      } else {
        socket.close();
        reject(error);
      }
    };
    const dallyMs = options.dallyMs ?? 2 * retryMs;
    const onAbort = (): void => done(new Error('aborted'));
    const send = (packet: Uint8Array, port: number): void => {
      last = packet;
      lastPort = port;
      socket.send(packet, port, options.server);
      clearTimeout(timer);
      if (finished) return;
      timer = setTimeout(() => {
        if (++misses > retries)
          return done(new Error(`TFTP ${options.filename}: no answer after ${retries} retries`));
        send(last, lastPort);
      }, retryMs);
    };
    socket.on('error', (e) => done(e));
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== options.server) return;
      if (peerPort === undefined) peerPort = rinfo.port;
      else if (rinfo.port !== peerPort) {
        // RFC 1350 §4: a packet from an unknown TID gets ERROR 5, the transfer goes on.
        socket.send(encodeError(5, 'Unknown transfer ID'), rinfo.port, rinfo.address);
        return;
      }
      if (finished) {
        // Dallying: only a retransmitted final block is answered (its ACK again).
        const again = decodeServerPacket(msg);
        if (again?.kind === 'data' && again.block === ((expected - 1) & 0xffff))
          socket.send(encodeAck(again.block), rinfo.port, rinfo.address);
        return;
      }
      const packet = decodeServerPacket(msg);
      if (packet === undefined) return;
      misses = 0;
      if (packet.kind === 'error')
        return done(new Error(`TFTP ${options.filename}: error ${packet.code} ${packet.message}`));
      if (packet.kind === 'oack') {
        size = Number(packet.options.get('blksize') ?? '512');
        return send(encodeAck(0), peerPort);
      }
      if (packet.block === (expected & 0xffff)) {
        hash.update(packet.data);
        bytes += packet.data.length;
        expected++;
        send(encodeAck(packet.block), peerPort);
        if (packet.data.length < size) done(undefined);
      } else {
        send(encodeAck(packet.block), peerPort); // a duplicate: ACK it again (no Sorcerer's Apprentice resend)
      }
    });
    options.signal.addEventListener('abort', onAbort, { once: true });
    socket.bind(0, options.localAddress, () => send(last, lastPort));
  });
}
