import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from '@ingot/common';
import type { HostPort } from '../config.ts';
import { problem } from './problem.ts';

/**
 * Builds the agent's root HTTP app: route groups are mounted on it with `app.route('/', group)`
 * (today the machine API; later HTTP boot and the metadata proxy). Errors and unknown paths
 * answer problem+json here, once, for every group.
 */
export function createHttpApp(logger: Logger): Hono {
  const app = new Hono();
  app.notFound((c) => problem(c, 404, `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    logger.error('HTTP handler failed', { method: c.req.method, path: c.req.path, error });
    return problem(c, 500, 'internal error; see the agent log');
  });
  return app;
}

/** A running HTTP server. */
export interface HttpServerHandle {
  /** The bound address; `port` is the real one when 0 was asked for. */
  readonly address: HostPort;
  /** Stops accepting, closes idle and active connections, and resolves when closed. */
  close(): Promise<void>;
}

/**
 * Serves `app` on `listen`. Rejects if the address cannot be bound (in use, no permission),
 * which at startup is an operator problem worth stopping for.
 */
export function startHttpServer(app: Hono, listen: HostPort): Promise<HttpServerHandle> {
  const listener = getRequestListener(app.fetch);
  // The listener reports its own failures through the app's onError; nothing to await here.
  const server: Server = createServer((request, response) => void listener(request, response));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      resolve({
        address: { host: listen.host, port: bound.port },
        close: () =>
          new Promise<void>((closed, failed) => {
            server.close((error) => (error === undefined ? closed() : failed(error)));
            // Machines keep connections alive; without this close() would wait for them.
            server.closeAllConnections();
          }),
      });
    });
  });
}
