/**
 * A TFTP read as a PXE ROM does it: RRQ with `tsize` and `blksize`, OACK answered with ACK 0,
 * every DATA block acknowledged, lost packets retransmitted after a timeout (RFC 1350 §2), from
 * the machine's leased address. The bytes are hashed and dropped.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { decodeServerPacket, encodeAck, encodeRrq } from './tftp-packet.ts';

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
    const done = (error: Error | undefined): void => {
      clearTimeout(timer);
      clearTimeout(overall);
      options.signal.removeEventListener('abort', onAbort);
      socket.close();
      if (error === undefined) resolve({ bytes, sha256: hash.digest('hex') });
      else reject(error);
    };
    const onAbort = (): void => done(new Error('aborted'));
    const send = (packet: Uint8Array, port: number): void => {
      last = packet;
      lastPort = port;
      socket.send(packet, port, options.server);
      clearTimeout(timer);
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
      else if (rinfo.port !== peerPort) return; // RFC 1350 §4: a stray TID, not ours
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
