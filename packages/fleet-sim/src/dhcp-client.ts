/**
 * One UDP socket on port 68 for the whole fleet: every simulated machine's DHCP exchange goes
 * through it, matched to the machine by `xid` and `chaddr`. Retransmits as firmware does
 * (RFC 2131 §4.1: randomised exponential backoff), bounded in attempts and time.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import {
  DHCP,
  decodeDhcpReply,
  encodeDhcpRequest,
  type DhcpClientKind,
  type DhcpReply,
} from './dhcp-packet.ts';

/** A lease as the client holds it after an ACK. */
export interface Lease {
  readonly ip: string;
  readonly serverId: string;
  readonly siaddr: string;
  readonly file: string;
}

/** Retransmission policy of one DORA. */
export interface DhcpRetry {
  /** First wait before a retransmit; doubles up to `maxDelayMs` (RFC 2131 uses 4 s … 64 s). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Whole exchange bound: then the "firmware" gives up. */
  readonly timeoutMs: number;
}

/** The shared DHCP client. */
export interface DhcpClient {
  /** DISCOVER → OFFER → REQUEST → ACK for `mac`, as `kind` sends it; `undefined` on timeout/NAK. */
  dora(
    mac: string,
    kind: DhcpClientKind,
    signal: AbortSignal,
    hostname?: string,
  ): Promise<Lease | undefined>;
  close(): Promise<void>;
}

/** Binds 0.0.0.0:68 (needs the simulator's own network namespace) and returns the client. */
export async function startDhcpClient(options: {
  retry: DhcpRetry;
  port?: number;
  serverPort?: number;
  broadcast?: string;
  onSendError?: (error: Error) => void;
}): Promise<DhcpClient> {
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  const waiting = new Map<number, (reply: DhcpReply) => void>();
  socket.on('message', (bytes) => {
    const reply = decodeDhcpReply(bytes);
    if (reply === undefined) return;
    waiting.get(reply.xid)?.(reply);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 68, '0.0.0.0', () => {
      socket.off('error', reject);
      socket.setBroadcast(true);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  const target = options.broadcast ?? '255.255.255.255';
  const serverPort = options.serverPort ?? 67;

  /** Sends `build()` until a reply of `want` for `xid` arrives, the retries run out, or abort. */
  const exchange = (
    xid: number,
    mac: string,
    want: number[],
    build: (secs: number) => Uint8Array,
    started: number,
    signal: AbortSignal,
  ): Promise<DhcpReply | undefined> =>
    new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let delay = options.retry.initialDelayMs;
      const finish = (reply: DhcpReply | undefined): void => {
        clearTimeout(timer);
        waiting.delete(xid);
        signal.removeEventListener('abort', onAbort);
        resolve(reply);
      };
      const onAbort = (): void => finish(undefined);
      waiting.set(xid, (reply) => {
        if (reply.mac === mac && want.includes(reply.type)) finish(reply);
      });
      signal.addEventListener('abort', onAbort, { once: true });
      const send = (): void => {
        if (Date.now() - started > options.retry.timeoutMs) return finish(undefined);
        socket.send(
          build(Math.floor((Date.now() - started) / 1000)),
          serverPort,
          target,
          (error) => {
            if (error) options.onSendError?.(error);
          },
        );
        // ±1 s jitter as RFC 2131 §4.1 asks, scaled down with the delay.
        const jitter = randomInt(0, Math.max(1, Math.floor(delay / 4)));
        timer = setTimeout(send, delay + jitter);
        delay = Math.min(delay * 2, options.retry.maxDelayMs);
      };
      if (signal.aborted) finish(undefined);
      else send();
    });

  return {
    async dora(mac, kind, signal, hostname) {
      const started = Date.now();
      const xid = randomInt(1, 0xffffffff);
      const offer = await exchange(
        xid,
        mac,
        [DHCP.OFFER],
        (secs) => encodeDhcpRequest({ type: DHCP.DISCOVER, xid, mac, kind, secs, hostname }),
        started,
        signal,
      );
      if (offer === undefined || offer.serverId === undefined) return undefined;
      const ack = await exchange(
        xid,
        mac,
        [DHCP.ACK, DHCP.NAK],
        (secs) =>
          encodeDhcpRequest({
            type: DHCP.REQUEST,
            xid,
            mac,
            kind,
            secs,
            hostname,
            requestedIp: offer.yiaddr,
            serverId: offer.serverId,
          }),
        started,
        signal,
      );
      if (ack === undefined || ack.type !== DHCP.ACK) return undefined;
      return { ip: ack.yiaddr, serverId: offer.serverId, siaddr: ack.siaddr, file: ack.file };
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
