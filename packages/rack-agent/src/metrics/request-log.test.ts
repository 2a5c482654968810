import { createJsonLogger } from '@ingot/common';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { agentRequestLog } from './request-log.ts';

function setup() {
  const lines: Record<string, unknown>[] = [];
  const logger = createJsonLogger(
    (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    'debug',
  );
  const app = new Hono();
  app.use('*', agentRequestLog(logger));
  // Stands in for the metadata proxy: it forwards the request's headers upstream.
  app.get('/MAAS/metadata/*', (c) => c.text(c.req.header('x-request-id') ?? 'none', 401));
  app.get('/ipxe/script', (c) => c.text('#!ipxe\n'));
  return { app, lines };
}

describe('agent request log', () => {
  it('passes a generated request id on to what handles the request, and echoes it', async () => {
    const { app, lines } = setup();
    const res = await app.request('/MAAS/metadata/latest/meta-data/instance-id');
    const forwarded = await res.text();
    expect(forwarded).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(forwarded);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'http request',
        request_id: forwarded,
        method: 'GET',
        path: '/MAAS/metadata/latest/meta-data/instance-id',
        status: 401,
      }),
    ]);
  });

  it("keeps a client's sane id and logs answered requests at debug", async () => {
    const { app, lines } = setup();
    const res = await app.request('/ipxe/script', { headers: { 'x-request-id': 'pxe-7' } });
    expect(res.headers.get('x-request-id')).toBe('pxe-7');
    expect(lines[0]).toMatchObject({ level: 'debug', request_id: 'pxe-7', status: 200 });
    const bad = await app.request('/MAAS/metadata/x', { headers: { 'x-request-id': 'a b' } });
    expect(await bad.text()).not.toBe('a b');
  });
});
