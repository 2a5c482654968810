import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@ingot/common';
import { createHttpApp, startHttpServer, type HttpServerHandle } from '../http/http-server.ts';
import { createMetadataProxy } from './metadata-proxy.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let controller: Server;
let controllerUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
  controller = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (request.url?.startsWith('/MAAS/metadata/slow') === true) return; // never answers
      response.writeHead(request.method === 'POST' ? 201 : 200, {
        'content-type': 'text/plain',
        'x-upstream': 'yes',
        connection: 'keep-alive',
      });
      response.end(`upstream saw ${request.method ?? ''} ${request.url ?? ''}`);
    });
  });
  await new Promise<void>((resolve) => controller.listen(0, '127.0.0.1', resolve));
  controllerUrl = `http://127.0.0.1:${(controller.address() as AddressInfo).port}`;
});
afterAll(async () => {
  controller.closeAllConnections();
  await new Promise((resolve) => controller.close(resolve));
});

const proxyApp = (upstreamUrl: string, timeoutMs = 2000) => {
  const app = createHttpApp(silentLogger);
  app.route('/', createMetadataProxy({ config: { upstreamUrl, timeoutMs }, logger: silentLogger }));
  return app;
};

describe('metadata proxy', () => {
  it('goes on to the next controller when one cannot be reached, body included', async () => {
    seen.length = 0;
    // A port nothing listens on: the server was closed.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((resolve) => dead.close(resolve));
    const app = createHttpApp(silentLogger);
    app.route(
      '/',
      createMetadataProxy({
        config: { upstreamUrl: () => [deadUrl, controllerUrl], timeoutMs: 2000 },
        logger: silentLogger,
      }),
    );
    const response = await app.request('http://10.0.0.1:5248/MAAS/metadata/status/m-2', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"step":"install.storage"}',
    });
    expect(response.status).toBe(201);
    expect(seen).toMatchObject([
      { url: '/MAAS/metadata/status/m-2', body: '{"step":"install.storage"}' },
    ]);
    const none = createHttpApp(silentLogger);
    none.route(
      '/',
      createMetadataProxy({ config: { upstreamUrl: () => [deadUrl] }, logger: silentLogger }),
    );
    expect((await none.request('http://10.0.0.1:5248/MAAS/metadata/latest/')).status).toBe(502);
  });

  it('forwards method, path, query, Authorization and body; returns status, headers, body', async () => {
    seen.length = 0;
    const response = await proxyApp(`${controllerUrl}/`).request(
      'http://10.0.0.1:5248/MAAS/metadata/status/m-1?op=x',
      {
        method: 'POST',
        headers: { authorization: 'OAuth token', 'content-type': 'application/json' },
        body: '{"step":"install.image"}',
      },
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('x-upstream')).toBe('yes');
    expect(response.headers.get('connection')).toBeNull();
    expect(await response.text()).toBe('upstream saw POST /MAAS/metadata/status/m-1?op=x');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/MAAS/metadata/status/m-1?op=x',
      body: '{"step":"install.image"}',
      headers: {
        authorization: 'OAuth token',
        'content-type': 'application/json',
        'x-forwarded-host': '10.0.0.1:5248',
        'x-forwarded-proto': 'http',
        'accept-encoding': 'identity',
      },
    });
  });

  it('streams through a real agent server, client address in X-Forwarded-For', async () => {
    seen.length = 0;
    const agent: HttpServerHandle = await startHttpServer(proxyApp(controllerUrl), {
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const body = 'x'.repeat(1024 * 1024);
      const response = await fetch(
        `http://127.0.0.1:${agent.address.port}/MAAS/metadata/latest/user-data`,
        { method: 'PUT', body, headers: { authorization: 'Bearer t' } },
      );
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('upstream saw PUT /MAAS/metadata/latest/user-data');
      expect(seen[0]?.body.length).toBe(body.length);
      expect(seen[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen[0]?.headers.authorization).toBe('Bearer t');
    } finally {
      await agent.close();
    }
  });

  it('answers 502 problem when the controller is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const response = await proxyApp(`http://127.0.0.1:${port}`).request('/MAAS/metadata/latest');
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 502 });
  });

  it('answers 504 problem when the controller does not answer in time', async () => {
    const response = await proxyApp(controllerUrl, 200).request('/MAAS/metadata/slow');
    expect(response.status).toBe(504);
  });

  it('does not proxy other paths', async () => {
    const response = await proxyApp(controllerUrl).request('/MAASX/metadata/latest');
    expect(response.status).toBe(404);
  });
});
