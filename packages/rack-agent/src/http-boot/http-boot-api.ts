/**
 * HTTP boot on the agent (DESIGN.md §5, port 5248): a thin adapter over the shared
 * {@link BootResolver}. Files stream from a file handle with single-range support; generated
 * configs are sent from memory; every fetch by a known machine is reported as a `boot.*` fetch.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Logger } from '@ingot/common';
import { asBootStep, type BootFetch, type BootFetchListener } from '../boot/boot-events.ts';
import type { BootResolver, ResolvedBootFile } from '../boot/resolver.ts';
import { problem } from '../http/problem.ts';
import { decideByteRange } from './byte-range.ts';
import { createFileBody, type FileBodyEnd } from './file-body.ts';
import { createMetadataProxy, type MetadataProxyConfig } from './metadata-proxy.ts';
import { nodeResponseOf, sendFileToNodeResponse } from './node-file-send.ts';

/** What {@link createHttpBootApi} needs. */
export interface HttpBootDeps {
  readonly resolver: BootResolver;
  /** Told about every fetch by a known machine; see `BootFetch` for when. */
  readonly onFetch: BootFetchListener;
  readonly logger: Logger;
  /** When set, `/MAAS/metadata/*` is proxied to the controller (see `metadata-proxy.ts`). */
  readonly metadataProxy?: MetadataProxyConfig | undefined;
  /** Told about every boot-file request and the body bytes sent (the agent's metrics). */
  readonly metrics?: HttpBootMetrics | undefined;
}

/** What HTTP boot reports for metrics. */
export interface HttpBootMetrics {
  /** A `GET`/`HEAD` boot-file request was answered with `status`. */
  request(status: number): void;
  /** Body bytes written to a client (counted as the transfer ends, whole or not). */
  bytesSent(bytes: number): void;
}

/**
 * Routes: `ALL /MAAS/metadata/*` (when configured), then `GET|HEAD /*` answered by the
 * resolver: 200/206 with the bytes, `Accept-Ranges: bytes`, `Content-Length`, `Content-Type`;
 * 416 for an unsatisfiable range; 403 problem for a refused path; 404 problem for an unknown
 * one. Content-addressed `images/*` are cacheable forever, configs never.
 *
 * The `GET /*` route catches every GET: mount this app last, after the machine API:
 * `app.route('/', createMachineApi(…)); app.route('/', createHttpBootApi(…))`.
 */
export function createHttpBootApi(deps: HttpBootDeps) {
  const app = new Hono();
  if (deps.metadataProxy !== undefined) {
    app.route('/', createMetadataProxy({ config: deps.metadataProxy, logger: deps.logger }));
  }
  // Files sent straight to the Node response leave Hono a marker, not the real status.
  const observe: MiddlewareHandler = async (c, next) => {
    await next();
    const sent = c.res === RESPONSE_ALREADY_SENT ? nodeResponseOf(c.env)?.statusCode : undefined;
    deps.metrics?.request(sent ?? c.res.status);
  };
  return app.on(['GET', 'HEAD'], '/*', observe, async (c) => {
    const target = requestTarget(c.req.url);
    const resolved = await deps.resolver.resolve({
      path: target,
      protocol: 'http',
      clientAddress: remoteAddress(c.env),
      serverAddress: c.req.header('host'),
    });
    if (!resolved.ok) {
      return resolved.error.kind === 'forbidden'
        ? problem(c, 403, `refused: ${resolved.error.reason}`)
        : problem(c, 404, `no boot file ${resolved.error.path}`);
    }
    const file = resolved.value;
    const fetch = fetchReporter(deps, file, target);
    if (file.content.kind === 'bytes') {
      const { data } = file.content;
      if (c.req.method === 'GET') fetch?.('succeeded', data.byteLength);
      return send(c, file, data.byteLength, undefined, (status, headers, start, end) => {
        deps.metrics?.bytesSent(end - start + 1);
        return new Response(data.subarray(start, end + 1), { status, headers });
      });
    }
    const opened = await openRegularFile(file.content.path);
    if (opened === undefined) return problem(c, 404, `no boot file ${target}`);
    const { handle, sizeBytes, modified } = opened;
    const body = { handed: false };
    const outgoing = nodeResponseOf(c.env);
    try {
      return send(c, file, sizeBytes, modified, (status, headers, start, end) => {
        body.handed = true;
        if (start === 0) fetch?.('started', sizeBytes);
        const onEnd = ({ complete, bytesSent }: FileBodyEnd): void => {
          deps.metrics?.bytesSent(bytesSent);
          if (!complete) fetch?.('failed', bytesSent);
          else if (end === sizeBytes - 1) fetch?.('succeeded', end - start + 1);
        };
        return outgoing === undefined
          ? new Response(createFileBody(handle, start, end, onEnd), { status, headers })
          : sendFileToNodeResponse(outgoing, handle, status, headers, { start, end }, onEnd);
      });
    } finally {
      if (!body.handed) await handle.close();
    }
  });
}

/** Route type of {@link createHttpBootApi}. */
export type HttpBootApi = ReturnType<typeof createHttpBootApi>;

/**
 * Answers HEAD, 416, 206 or 200 for a body of `sizeBytes`; `respond` builds the response only
 * when bytes are sent.
 */
function send(
  c: Context,
  file: ResolvedBootFile,
  sizeBytes: number,
  modified: Date | undefined,
  respond: (
    status: 200 | 206,
    headers: Record<string, string>,
    start: number,
    end: number,
  ) => Response,
): Response {
  const headers: Record<string, string> = {
    'accept-ranges': 'bytes',
    'content-type': file.contentType,
    'cache-control': file.content.kind === 'bytes' ? 'no-store' : 'public, max-age=3600',
  };
  if (modified !== undefined) headers['last-modified'] = modified.toUTCString();
  const ifRange = c.req.header('if-range');
  // RFC 9110 §13.1.5: a stale If-Range validator means "send it all".
  const rangeHeader =
    ifRange === undefined || ifRange === headers['last-modified']
      ? c.req.header('range')
      : undefined;
  const range = decideByteRange(rangeHeader, sizeBytes);
  if (range.kind === 'unsatisfiable') {
    headers['content-range'] = `bytes */${sizeBytes}`;
    return c.body(null, 416, headers);
  }
  const [status, start, end] =
    range.kind === 'partial'
      ? [206 as const, range.start, range.end]
      : [200 as const, 0, sizeBytes - 1];
  headers['content-length'] = String(end - start + 1);
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${sizeBytes}`;
  if (c.req.method === 'HEAD') return c.body(null, status, headers);
  return respond(status, headers, start, end);
}

/** Reports fetches of `file` when it belongs to a known machine and a `boot.*` step. */
function fetchReporter(
  deps: HttpBootDeps,
  file: ResolvedBootFile,
  target: string,
): ((result: BootFetch['result'], bytes: number) => void) | undefined {
  const step = asBootStep(file.step);
  if (file.machineId === undefined || file.machineId === '' || step === undefined) return undefined;
  const machineId = file.machineId;
  const path = target.split('?', 1)[0] ?? target;
  return (result, bytes) => {
    try {
      deps.onFetch({ machineId, step, path, protocol: 'http', result, bytes });
    } catch (error: unknown) {
      deps.logger.error('boot fetch listener failed', { step, path, error });
    }
  };
}

async function openRegularFile(
  path: string,
): Promise<{ handle: FileHandle; sizeBytes: number; modified: Date } | undefined> {
  let handle: FileHandle;
  try {
    // The resolver returned a real path; O_NOFOLLOW refuses a symlink swapped in since.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  // Size from the open handle, not the resolver: the file may have changed in between.
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    return undefined;
  }
  return { handle, sizeBytes: info.size, modified: info.mtime };
}

/** The request target as sent (path and query), before any URL normalisation. */
function requestTarget(url: string): string {
  const scheme = url.indexOf('://');
  const slash = url.indexOf('/', scheme === -1 ? 0 : scheme + 3);
  const target = slash === -1 ? '/' : url.slice(slash);
  const hash = target.indexOf('#');
  return hash === -1 ? target : target.slice(0, hash);
}

/** The client's IP from `@hono/node-server`'s bindings; empty in `app.request` tests. */
function remoteAddress(env: unknown): string {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return '';
  const { incoming } = env;
  if (!(incoming instanceof IncomingMessage)) return '';
  const address = incoming.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
