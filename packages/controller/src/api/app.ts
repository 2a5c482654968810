/**
 * The REST API (`/api/v1`, DESIGN.md §9): authentication, body limits, validation errors and
 * domain errors as RFC 9457 problem documents, and the OpenAPI document generated from the routes.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '@ingot/common';
import { bodyLimit } from 'hono/body-limit';
import { except } from 'hono/combine';
import { HTTPException } from 'hono/http-exception';
import type { ApiDeps, ApiEnv } from './context.ts';
import { registerMachineRoutes } from './machines.ts';
import { registerOtherRoutes } from './others.ts';
import { registerSubnetRoutes } from './subnets.ts';
import { registerImageRoutes } from './images.ts';
import { registerSshKeyRoutes } from './ssh-keys.ts';
import { createMetadataApi } from './metadata.ts';
import { createMaasApi, MAAS_API_PREFIX } from './maas/maas-api.ts';
import { registerApiKeyRoute } from './maas/api-key-route.ts';
import { authenticateRack, isImageFileRead, isImageFileUpload } from './image-files.ts';
import { DomainFailure, problem, problemFor, type Problem } from './problem.ts';
import { requestLog } from '../metrics/request-log.ts';
import { isSignIn, registerSessionRoutes } from './sessions.ts';
import { authenticateApiKey } from '../app/auth-limiter-credentials.ts';
import { clientAddress, tooManyAttempts } from './auth-limit.ts';
import { DEFAULT_UI_DIR, serveUi } from './ui-static.ts';

const PROBLEM_TYPE = 'application/problem+json';

function send(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { 'content-type': PROBLEM_TYPE, ...headers },
  });
}

/** Builds the API app. Pure composition: no ports are opened here. */
export function createApi(deps: ApiDeps, logger: Logger): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({
    // zod validation failures: a 400 problem listing each issue with its path.
    defaultHook: (result) => {
      if (result.success) return undefined;
      const issues = result.error.issues.map((i) => ({
        path: i.path.join('.'),
        message: i.message,
      }));
      const detail = issues
        .map((i) => (i.path.length > 0 ? `${i.path}: ${i.message}` : i.message))
        .join('; ');
      return send(problem(400, 'invalid', 'Invalid request', detail, { errors: issues }));
    },
  });

  // First: every request gets an id, an access-log line and a count (metrics/request-log.ts).
  app.use('*', requestLog({ logger, observe: (r) => deps.metrics?.observeHttpRequest(r) }));
  app.get('/healthz', (c) => c.json({ ok: true }));
  // Prometheus scrapes without credentials, as usual on a management network (docs/metrics.md).
  const metrics = deps.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', async (c) =>
      c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }),
    );
  }
  // Machines' metadata service: outside /api/v1, so API-key auth never applies; it checks the
  // machine's OAuth token itself (docs/deploy-contract.md).
  app.route(
    '/',
    createMetadataApi(deps.metadata, {
      maxBodyBytes: deps.maxBodyBytes,
      logger,
      authLimiter: deps.authLimiter,
    }),
  );
  app.route(MAAS_API_PREFIX, createMaasApi(deps, logger)); // OAuth, not Bearer (docs/maas-api.md)
  // The web UI at `/` (GET/HEAD on paths no API owns; see ui-static.ts).
  app.use('*', serveUi(deps.uiDir ?? DEFAULT_UI_DIR));

  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Ingot API',
      version: '1',
      description: 'Bare-metal provisioning: machines, their lifecycle, racks, users and events.',
    },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An Ingot API key: ingot_<id>_<secret>',
  });

  const limitBody = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: () =>
      send(
        problem(
          413,
          'too-large',
          'Request body too large',
          `bodies are limited to ${deps.maxBodyBytes} bytes`,
        ),
      ),
  });
  // Image uploads are streamed to disk, never buffered: the limit would only refuse them.
  app.use(
    '/api/v1/*',
    except((c) => isImageFileUpload(c.req.method, c.req.path), limitBody),
  );

  app.use('/api/v1/*', async (c, next) => {
    if (c.req.path === '/api/v1/openapi.json' || isSignIn(c.req.method, c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    // Racks read image files with their enrollment credentials (deploy-contract.md "Image files").
    if (/^Rack\s/i.test(header) && isImageFileRead(c.req.method, c.req.path)) {
      const rack = await authenticateRack(deps, header, clientAddress(c));
      if (rack !== undefined && 'retryAfterSeconds' in rack) return tooManyAttempts(rack);
      if (rack === undefined) {
        return send(
          problem(401, 'unauthenticated', 'Unauthenticated', 'unknown rack or wrong secret'),
        );
      }
      c.set('actor', rack);
      return next();
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const result =
      match?.[1] === undefined
        ? undefined
        : await authenticateApiKey(deps, match[1], clientAddress(c));
    if (result !== undefined && !result.ok && result.error.kind === 'rate-limited') {
      return tooManyAttempts(result.error);
    }
    if (result === undefined || !result.ok) {
      const detail =
        header.length === 0
          ? 'send your API key as "Authorization: Bearer <key>" (an admin key is in DATA/admin.key)'
          : 'the API key is malformed, unknown or revoked';
      return send(problem(401, 'unauthenticated', 'Unauthenticated', detail), {
        'www-authenticate': 'Bearer realm="ingot"',
      });
    }
    c.set('user', result.value);
    c.set('actor', { kind: 'user', user: result.value });
    return next();
  });

  registerMachineRoutes(app, deps);
  registerOtherRoutes(app, deps);
  registerSubnetRoutes(app, deps);
  registerImageRoutes(app, deps);
  registerSshKeyRoutes(app, deps);
  registerApiKeyRoute(app, deps);
  registerSessionRoutes(app, deps);

  app.notFound((c) =>
    send(problem(404, 'not-found', 'Not found', `no route for ${c.req.method} ${c.req.path}`)),
  );

  app.onError((e, c) => {
    if (e instanceof DomainFailure) return send(problemFor(e.error));
    if (e instanceof HTTPException) {
      // Hono's validators raise these for bodies that are not JSON at all.
      return send(
        problem(e.status, 'invalid', 'Invalid request', e.message || 'malformed request'),
      );
    }
    logger.error('unhandled API error', {
      request_id: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      error: e,
    });
    return send(problem(500, 'internal', 'Internal error', 'the controller failed; see its log'));
  });

  return app;
}
