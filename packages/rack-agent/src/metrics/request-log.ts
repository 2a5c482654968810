/**
 * Request ids and the access log of the agent's HTTP server (machine API, HTTP boot, metadata
 * proxy, `/metrics`). A request keeps the `X-Request-Id` it came with when that is a sane token,
 * otherwise it gets a new UUID written into the request's headers, so the metadata proxy passes
 * it on and the controller logs the machine's metadata call under the same id.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Logger } from '@ingot/common';
import type { MiddlewareHandler } from 'hono';
import { nodeResponseOf } from '../http-boot/node-file-send.ts';

/** The request (and response) header carrying the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids from clients are kept only if they look like ids (same rule as the controller's). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Returns the middleware. Writes one `http request` line per request: `request_id`, `method`,
 * `path`, `status`, `duration_ms`, `client`. Machines fetch many files while booting and
 * Prometheus scrapes every few seconds, so answered requests are logged at debug; 4xx and 5xx
 * (a machine asking for something the agent does not have) at info.
 */
export function agentRequestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const startedAt = performance.now();
    const sent = c.req.header(REQUEST_ID_HEADER);
    const requestId = sent !== undefined && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
    if (requestId !== sent) c.req.raw.headers.set(REQUEST_ID_HEADER, requestId);
    await next();
    // Files streamed straight to the socket have sent their status and headers already.
    const streamed = c.res === RESPONSE_ALREADY_SENT;
    const status = streamed ? (nodeResponseOf(c.env)?.statusCode ?? 200) : c.res.status;
    if (!streamed) {
      try {
        c.res.headers.set(REQUEST_ID_HEADER, requestId);
      } catch {
        // Immutable headers (a fetched response passed through): the upstream echoed it anyway.
      }
    }
    const fields = {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - startedAt) * 10) / 10,
      client: clientAddress(c.env),
    };
    if (status >= 400) logger.info('http request', fields);
    else logger.debug('http request', fields);
  };
}

function clientAddress(env: unknown): string | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  return env.incoming instanceof IncomingMessage ? env.incoming.socket.remoteAddress : undefined;
}
