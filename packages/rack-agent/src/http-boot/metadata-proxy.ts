/**
 * Reverse proxy from machines to the controller's metadata service (DESIGN.md §8), so a
 * machine on a provisioning segment never needs a route to the controller: cloud-init and the
 * installer talk to `http://<agent>:5248/MAAS/metadata/…` and the agent forwards.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from '@ingot/common';
import { problem } from '../http/problem.ts';

/** Path prefix proxied to the controller (MAAS's, so MAAS-aware clients work unchanged). */
export const METADATA_PREFIX = '/MAAS/metadata';

/** Where and how to forward. */
export interface MetadataProxyConfig {
  /**
   * The controller's metadata base URL, e.g. `http://10.0.0.2:5240`; the path is appended. A
   * function gives several controllers in the order to try: when one cannot be reached, the
   * request goes to the next (a request body is then buffered so it can be sent again).
   */
  readonly upstreamUrl: string | (() => readonly string[]);
  /** Longest wait for the controller's response headers; default 30 s. Bodies stream unbounded. */
  readonly timeoutMs?: number | undefined;
}

/** What {@link createMetadataProxy} needs. */
export interface MetadataProxyDeps {
  readonly config: MetadataProxyConfig;
  readonly logger: Logger;
}

/** Default response-header timeout. */
export const DEFAULT_METADATA_TIMEOUT_MS = 30_000;

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones the proxy sets itself. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
  'expect',
]);
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * `ALL /MAAS/metadata` and `/MAAS/metadata/*` → `upstreamUrl` + the same path and query. The
 * method, headers (`Authorization` included) and body go up, status, headers and body come
 * back, both streamed. `X-Forwarded-For/-Host/-Proto` are set. Answers 502 problem when the
 * controller is unreachable, 504 when it sends no headers within `timeoutMs`. A client that
 * hangs up aborts the upstream request.
 */
export function createMetadataProxy(deps: MetadataProxyDeps) {
  const upstreams = (): string[] => {
    const configured = deps.config.upstreamUrl;
    const list = typeof configured === 'string' ? [configured] : configured();
    return list.map((u) => u.replace(/\/+$/, ''));
  };
  const timeoutMs = deps.config.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
  const handler = async (c: Context): Promise<Response> => {
    const url = new URL(c.req.url);
    const candidates = upstreams();
    const headers = new Headers();
    for (const [name, value] of c.req.raw.headers) {
      if (!DROPPED_REQUEST_HEADERS.has(name)) headers.append(name, value);
    }
    // Compressed bodies would be decoded by fetch but keep their headers: ask for none.
    headers.set('accept-encoding', 'identity');
    const forwardedFor = c.req.header('x-forwarded-for');
    const client = clientAddress(c);
    if (client !== undefined) {
      headers.set(
        'x-forwarded-for',
        forwardedFor === undefined ? client : `${forwardedFor}, ${client}`,
      );
    }
    headers.set('x-forwarded-host', c.req.header('host') ?? url.host);
    headers.set('x-forwarded-proto', url.protocol.replace(':', ''));

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('metadata timeout')), timeoutMs);
    const signal = AbortSignal.any([timeout.signal, c.req.raw.signal]);
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    // With one controller the body streams through; with several it is buffered to be resent.
    const body = !hasBody
      ? null
      : candidates.length > 1
        ? await c.req.raw.arrayBuffer()
        : c.req.raw.body;
    let response: Response | undefined;
    try {
      for (const [index, upstream] of candidates.entries()) {
        try {
          response = await fetch(`${upstream}${url.pathname}${url.search}`, {
            method: c.req.method,
            headers,
            body,
            redirect: 'manual',
            signal,
            // Required by undici to stream a request body.
            ...(hasBody ? { duplex: 'half' } : {}),
          });
          break;
        } catch (error: unknown) {
          const timedOut = timeout.signal.aborted;
          deps.logger.warn('metadata proxy failed', {
            method: c.req.method,
            path: url.pathname,
            upstream,
            timedOut,
            error,
          });
          if (timedOut) {
            return problem(c, 504, `metadata service did not answer within ${timeoutMs} ms`);
          }
          if (c.req.raw.signal.aborted || index === candidates.length - 1) break;
        }
      }
    } finally {
      clearTimeout(timer);
    }
    if (response === undefined)
      return problem(c, 502, 'metadata service unreachable from this rack');
    const responseHeaders = new Headers();
    for (const [name, value] of response.headers) {
      if (!DROPPED_RESPONSE_HEADERS.has(name)) responseHeaders.append(name, value);
    }
    if (responseHeaders.has('content-encoding')) {
      // The upstream compressed anyway and fetch decoded it: the length no longer matches.
      responseHeaders.delete('content-encoding');
      responseHeaders.delete('content-length');
    }
    return new Response(response.body, { status: response.status, headers: responseHeaders });
  };
  return new Hono().all(METADATA_PREFIX, handler).all(`${METADATA_PREFIX}/*`, handler);
}

function clientAddress(c: Context): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const { incoming } = env;
  if (typeof incoming !== 'object' || incoming === null || !('socket' in incoming))
    return undefined;
  const { socket } = incoming;
  if (typeof socket !== 'object' || socket === null || !('remoteAddress' in socket))
    return undefined;
  return typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined;
}
