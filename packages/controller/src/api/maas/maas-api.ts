/**
 * The MAAS 2.0-compatible API under `/MAAS/api/2.0/` (docs/maas-api.md): a thin adapter that
 * lets MAAS clients (Juju's gomaasapi, python-libmaas, Terraform's MAAS provider, the `maas` CLI)
 * drive Ingot unchanged. It authenticates with OAuth 1.0 PLAINTEXT over Ingot's API keys, reads
 * MAAS's form parameters, calls the same application services as `/api/v1`, and answers in MAAS's
 * JSON shapes and status codes.
 */
import type { Logger } from '@ingot/common';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiDeps } from '../context.ts';
import { clientAddress } from '../auth-limit.ts';
import { MaasError } from './maas-error.ts';
import type { MaasEnv } from './maas-env.ts';
import { registerMachineRoutes } from './machines-routes.ts';
import { registerNetworkRoutes } from './network-routes.ts';
import { registerDescribeRoute } from './describe-route.ts';
import { authenticateMaas } from './oauth-auth.ts';
import { registerResourceRoutes } from './resources-routes.ts';

/** Where the adapter is mounted. */
export const MAAS_API_PREFIX = '/MAAS/api/2.0';

/** Endpoints MAAS serves to anonymous callers too. */
const ANONYMOUS = new Set(['/version', '/version/', '/describe', '/describe/']);

function text(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(message, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
  });
}

/** Builds the MAAS API app, to mount at {@link MAAS_API_PREFIX}. Opens nothing. */
export function createMaasApi(deps: ApiDeps, logger: Logger): Hono<MaasEnv> {
  const app = new Hono<MaasEnv>();

  app.use(
    '*',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => text(413, `Request bodies are limited to ${deps.maxBodyBytes} bytes.`),
    }),
  );

  app.use('*', async (c, next) => {
    const header = c.req.header('authorization');
    const local = c.req.path.slice(MAAS_API_PREFIX.length);
    // MAAS answers its anonymous resources whatever the credentials (gomaasapi reads version/
    // before it checks them with users/?op=whoami, and reports a bad key only from there).
    if (ANONYMOUS.has(local)) return next();
    const { user, keyId } = await authenticateMaas(deps, header, clientAddress(c));
    c.set('user', user);
    c.set('actor', { kind: 'user', user });
    c.set('keyId', keyId);
    return next();
  });

  registerResourceRoutes(app, deps);
  registerMachineRoutes(app, deps);
  registerNetworkRoutes(app, deps);
  registerDescribeRoute(app);

  app.all('*', (c) => text(404, `Unknown API endpoint: ${c.req.method} ${c.req.path}`));

  app.onError((e, c) => {
    if (e instanceof MaasError) return text(e.status, e.message, { ...e.headers });
    logger.error('unhandled MAAS API error', { method: c.req.method, path: c.req.path, error: e });
    return text(500, 'The controller failed; see its log.');
  });

  return app;
}
