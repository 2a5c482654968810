/**
 * The rack agent's TFTP server (DESIGN.md §5): read-only RFC 1350 with options blksize (RFC
 * 2348), timeout and tsize (RFC 2349) and windowsize (RFC 7440). Sockets and timers only: bytes
 * come from the shared `BootResolver`, packets from `codec/`, protocol decisions from
 * `transfer.ts`.
 *
 * Requests arrive on the listening transport (port 69 by default). Each accepted RRQ gets its
 * own transport on an ephemeral port, its TID (RFC 1350 §4). Answers to requests that never
 * become a transfer (WRQ, not found, busy) are sent from the listening socket, which every
 * client we test accepts, and costs no socket per hostile datagram.
 *
 * Deliberately missing: writes (WRQ → ERROR 2, uploads have no place on a boot network);
 * netascii conversion (a netascii RRQ is served byte for byte, as no boot loader asks for it);
 * replies to undecodable datagrams (silence avoids reflecting traffic at spoofed sources).
 */
import type { Clock, Logger } from '@ingot/common';
import { assertNever } from '@ingot/common';
import type { BootError, BootResolver, ResolvedBootFile } from '../boot/resolver.ts';
import type { Datagram, DatagramTransport } from '../net/datagram-transport.ts';
import { createBytesSource, openFileSource, type BlockSource } from './block-source.ts';
import { ERROR_CODE, decodePacket, encodePacket, type RequestPacket } from './codec/packet.ts';
import { BLKSIZE_MAX } from './codec/options.ts';
import { createTransfer, type RetransmitPolicy } from './transfer.ts';
import { runTransfer, type TransferRunner } from './transfer-runner.ts';

/** Creates a bound transport; `remote` asks for one that talks to that peer only. */
export type TransportFactory = (options: {
  readonly address: string;
  readonly port: number;
  readonly remote?: { readonly address: string; readonly port: number };
}) => Promise<DatagramTransport>;

/** Server settings; every field has a default. */
export interface TftpServerOptions {
  /** Listening address (default `0.0.0.0`). Transfer sockets bind to it too. */
  readonly host?: string;
  /** Listening port (default 69; 0 for an ephemeral one in tests). */
  readonly port?: number;
  /** Transfers running at once (default 1024); requests beyond get ERROR 0 "server busy". */
  readonly maxTransfers?: number;
  /** Largest blksize granted (default 65464, RFC 2348's maximum). */
  readonly maxBlksize?: number;
  /** Largest windowsize granted (default 64). */
  readonly maxWindowsize?: number;
  /** Longest RFC 2349 timeout a client may ask for, in seconds (default 10; longer is declined). */
  readonly maxTimeoutSeconds?: number;
  /** Retransmission (default 1 s doubling to 8 s, 5 retries). */
  readonly retransmit?: RetransmitPolicy;
}

/** One finished (or refused) fetch, for `boot.*` events. */
export interface TftpTransferReport {
  readonly path: string;
  readonly client: { readonly address: string; readonly port: number };
  /** Bytes the client acknowledged. */
  readonly bytes: number;
  readonly ok: boolean;
  readonly durationMs: number;
  /** Why it failed, when it did. */
  readonly reason?: string | undefined;
  /** Retransmission timeouts during the transfer (0 on a clean network). */
  readonly timeouts?: number | undefined;
  /** The resolved file, when the path resolved (carries `machineId` and `step`). */
  readonly file?: ResolvedBootFile | undefined;
}

/** What the server needs from its surroundings. */
export interface TftpServerDeps {
  readonly resolver: BootResolver;
  readonly createTransport: TransportFactory;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called once per RRQ that got an answer: completed, failed or refused. */
  readonly onTransfer?: ((report: TftpTransferReport) => void) | undefined;
}

/** A running server. */
export interface TftpServerHandle {
  /** The bound listening address (the real port when 0 was asked). */
  address(): { address: string; port: number };
  /** Transfers in progress, including those still resolving. */
  activeTransfers(): number;
  /** Stops listening, aborts running transfers and releases their sockets and files. */
  close(): Promise<void>;
}

/** A server that is not started yet. */
export interface TftpServer {
  /** Binds and starts serving. Rejects if the listening socket cannot be bound. */
  start(signal?: AbortSignal): Promise<TftpServerHandle>;
}

const DEFAULT_RETRANSMIT: RetransmitPolicy = { initialMs: 1000, maxMs: 8000, maxRetries: 5 };

/** Creates the TFTP server. Nothing is bound until `start()`. */
export function createTftpServer(options: TftpServerOptions, deps: TftpServerDeps): TftpServer {
  const host = options.host ?? '0.0.0.0';
  const maxTransfers = options.maxTransfers ?? 1024;
  const limits = {
    maxBlksize: Math.min(options.maxBlksize ?? BLKSIZE_MAX, BLKSIZE_MAX),
    maxWindowsize: options.maxWindowsize ?? 64,
    maxTimeoutSeconds: options.maxTimeoutSeconds ?? 10,
  };
  const policy = options.retransmit ?? DEFAULT_RETRANSMIT;
  const { resolver, clock, logger } = deps;

  return {
    async start(signal?: AbortSignal): Promise<TftpServerHandle> {
      const listener = await deps.createTransport({ address: host, port: options.port ?? 69 });
      /** Keyed by client `address:port`: a retransmitted RRQ must not start a second transfer. */
      const active = new Map<string, TransferRunner | 'starting'>();
      let closing: Promise<void> | undefined;

      const report = (r: TftpTransferReport): void => {
        if (r.ok) logger.debug('tftp transfer done', { ...r, file: undefined });
        else logger.info('tftp transfer failed', { ...r, file: undefined });
        deps.onTransfer?.(r);
      };

      const refuse = (datagram: Datagram, code: number, message: string): void => {
        const packet = encodePacket({ opcode: 'error', code, message });
        const to = { address: datagram.remoteAddress, port: datagram.remotePort };
        listener.send(packet, to).catch(() => undefined);
      };

      const serveRead = async (datagram: Datagram, request: RequestPacket): Promise<void> => {
        const client = { address: datagram.remoteAddress, port: datagram.remotePort };
        const key = `${client.address}:${client.port}`;
        if (active.has(key)) return; // RFC 1350: a retransmitted RRQ; the transfer is underway
        const base = { path: request.filename, client, bytes: 0, ok: false };
        const startedMs = clock.now();
        const refused = (code: number, message: string, file?: ResolvedBootFile): void => {
          refuse(datagram, code, message);
          report({ ...base, durationMs: clock.now() - startedMs, reason: message, file });
        };
        if (active.size >= maxTransfers) {
          refused(ERROR_CODE.notDefined, 'server busy');
          return;
        }
        const mode = request.mode.toLowerCase();
        if (mode !== 'octet' && mode !== 'netascii') {
          refused(ERROR_CODE.illegalOperation, `unsupported mode ${mode}`);
          return;
        }
        active.set(key, 'starting');
        let source: BlockSource | undefined;
        try {
          const resolved = await resolver.resolve({
            path: request.filename,
            protocol: 'tftp',
            clientAddress: client.address,
          });
          if (!resolved.ok) {
            const [code, message] = bootErrorReply(resolved.error);
            refused(code, message);
            return;
          }
          const file = resolved.value;
          const state = createTransfer({
            sizeBytes: file.sizeBytes,
            requestOptions: request.options,
            limits,
            policy,
          });
          source =
            file.content.kind === 'bytes'
              ? createBytesSource(file.content.data)
              : await openFileSource(file.content.path, file.sizeBytes, state.blksize);
          const transport = await deps.createTransport({ address: host, port: 0, remote: client });
          if (closing !== undefined) {
            await Promise.allSettled([transport.close(), source.close()]);
            return;
          }
          const runner = runTransfer(state, {
            transport,
            source,
            client,
            clock,
            onDone: (outcome) => {
              active.delete(key);
              report({ ...base, ...outcome, durationMs: clock.now() - startedMs, file });
            },
          });
          source = undefined; // the runner owns it now
          active.set(key, runner);
        } catch (e: unknown) {
          // A resolver bug, a file gone between resolve and open, no ports left: refuse this one.
          logger.warn('tftp request failed', { path: request.filename, error: e });
          refused(ERROR_CODE.notDefined, 'cannot serve file');
          await source?.close().catch(() => undefined);
        } finally {
          if (active.get(key) === 'starting') active.delete(key);
        }
      };

      listener.onMessage((datagram) => {
        if (closing !== undefined) return;
        const decoded = decodePacket(datagram.data);
        if (!decoded.ok) return;
        const packet = decoded.value;
        switch (packet.opcode) {
          case 'rrq':
            void serveRead(datagram, packet);
            break;
          case 'wrq':
            refuse(datagram, ERROR_CODE.accessViolation, 'access violation: read-only server');
            break;
          case 'data':
          case 'ack':
          case 'error':
          case 'oack':
            break; // not a request: nothing to answer on the listening port
          default:
            assertNever(packet, 'TFTP packet');
        }
      });

      const handle: TftpServerHandle = {
        address: () => listener.localAddress(),
        activeTransfers: () => active.size,
        close: () => {
          closing ??= (async () => {
            await listener.close();
            const runners = [...active.values()].filter((r) => r !== 'starting');
            await Promise.allSettled(runners.map((r) => r.abort('server closing')));
          })();
          return closing;
        },
      };
      signal?.addEventListener('abort', () => void handle.close(), { once: true });
      return handle;
    },
  };
}

/** RFC 1350 §5 error code and message for a path that did not resolve. */
function bootErrorReply(error: BootError): [number, string] {
  switch (error.kind) {
    case 'not-found':
      return [ERROR_CODE.fileNotFound, 'file not found'];
    case 'forbidden':
      return [ERROR_CODE.accessViolation, 'access violation'];
    default:
      return assertNever(error, 'boot error');
  }
}
