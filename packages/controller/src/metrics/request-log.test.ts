import { createJsonLogger } from '@ingot/common';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { User } from '../domain/user.ts';
import type { HttpRequestObservation } from './controller-metrics.ts';
import { requestLog, type RequestLogEnv } from './request-log.ts';

function setup() {
  const lines: Record<string, unknown>[] = [];
  const seen: HttpRequestObservation[] = [];
  const logger = createJsonLogger((line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  );
  const app = new Hono<RequestLogEnv>();
  app.use('*', requestLog({ logger, observe: (r) => seen.push(r) }));
  app.get('/metrics', (c) => c.text('x'));
  app.get('/api/v1/machines/:id', (c) => {
    c.set('actor', { kind: 'user', user: { username: 'alice' } as User });
    return c.json({ id: c.req.param('id'), request: c.get('requestId') });
  });
  app.post('/api/v1/racks/:id', (c) => {
    c.set('actor', { kind: 'rack', rackId: 'r9' });
    return c.body(null, 409);
  });
  return { app, lines, seen };
}

describe('request log', () => {
  it('keeps a sane X-Request-Id, echoes it, and writes one access line with the machine id', async () => {
    const { app, lines, seen } = setup();
    const res = await app.request('/api/v1/machines/m-42', {
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    expect(await res.json()).toEqual({ id: 'm-42', request: 'abc-123' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'http request',
      request_id: 'abc-123',
      method: 'GET',
      route: '/api/v1/machines/:id',
      path: '/api/v1/machines/m-42',
      status: 200,
      user: 'alice',
      machine_id: 'm-42',
    });
    expect(typeof lines[0]?.['duration_ms']).toBe('number');
    expect(seen).toEqual([
      expect.objectContaining({ method: 'GET', route: '/api/v1/machines/:id', status: 200 }),
    ]);
  });

  it('replaces a missing or unsafe request id with a UUID and names non-user actors', async () => {
    const { app, lines } = setup();
    const res = await app.request('/api/v1/racks/r9', {
      method: 'POST',
      headers: { 'x-request-id': 'bad id "with" spaces' },
    });
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(lines[0]).toMatchObject({ request_id: id, status: 409, actor: 'rack:r9' });
    expect(lines[0]).not.toHaveProperty('machine_id');
    expect(lines[0]).not.toHaveProperty('user');
  });

  it('labels unknown paths by pattern, never by raw path, and logs scrapes at debug only', async () => {
    const { app, lines, seen } = setup();
    await app.request('/no/such/path/123');
    await app.request('/metrics');
    expect(seen.map((r) => [r.route, r.status])).toEqual([
      ['/*', 404],
      ['/metrics', 200],
    ]);
    // The logger's level is info: the scrape's debug line is dropped.
    expect(lines.map((l) => l['path'])).toEqual(['/no/such/path/123']);
  });
});
