/**
 * Request ids, the access log and HTTP metrics, as one Hono middleware mounted first on the API
 * app. A request keeps the `X-Request-Id` its client (or a proxy in front) sent when it is a sane
 * token; otherwise it gets a new UUID. The id is echoed in the response header, so an operator
 * can find the log line of a failed CLI call from its error output.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@ingot/common';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { actorName, type Actor } from '../app/actor.ts';
import type { HttpRequestObservation } from './controller-metrics.ts';

/** The request header (and response header) carrying the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids from clients are kept only if they look like ids: no spaces, quotes or control bytes. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
/** Scrapes and health checks come every few seconds: logged at debug, not info. */
const QUIET_ROUTES = new Set(['/metrics', '/healthz']);
/** Routes whose `:id` is a machine id (its log line then carries `machine_id`). */
const MACHINE_ROUTE = /^\/api\/v1\/machines\/:id(?:\/|$)/;

/** Variables the middleware sets (`requestId`) and reads after the handler ran (`actor`). */
export interface RequestLogEnv {
  Variables: { requestId: string; actor: Actor };
}

/** What {@link requestLog} needs. */
export interface RequestLogDeps {
  readonly logger: Logger;
  /** Told about every answered request; the controller's metrics count them. */
  readonly observe?: ((request: HttpRequestObservation) => void) | undefined;
}

/**
 * Returns the middleware: sets `requestId`, runs the request, then writes one access-log line
 * (`http request`, with `request_id`, `method`, `route`, `path`, `status`, `duration_ms`, and
 * `user`/`actor` and `machine_id` when known) and counts the request. Never fails a request.
 */
export function requestLog(deps: RequestLogDeps): MiddlewareHandler<RequestLogEnv> {
  return async (c, next) => {
    const startedAt = performance.now();
    const sent = c.req.header(REQUEST_ID_HEADER);
    const requestId = sent !== undefined && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header(REQUEST_ID_HEADER, requestId);
    const durationSeconds = (performance.now() - startedAt) / 1000;
    // After next(), the route index points at the handler that answered: its pattern keeps the
    // label set bounded (`/api/v1/machines/:id`, never one label value per machine).
    const route = routePath(c) || 'unmatched';
    const status = c.res.status;
    deps.observe?.({ method: c.req.method, route, status, durationSeconds });
    const actor = c.get('actor') as Actor | undefined;
    const machineId = MACHINE_ROUTE.test(route) ? c.req.param('id') : undefined;
    const fields = {
      request_id: requestId,
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      duration_ms: Math.round(durationSeconds * 10_000) / 10,
      ...(actor?.kind === 'user' ? { user: actor.user.username } : {}),
      ...(actor !== undefined && actor.kind !== 'user' ? { actor: actorName(actor) } : {}),
      ...(machineId === undefined ? {} : { machine_id: machineId }),
    };
    if (QUIET_ROUTES.has(route)) deps.logger.debug('http request', fields);
    else deps.logger.info('http request', fields);
  };
}
