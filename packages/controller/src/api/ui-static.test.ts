/** The web UI served at `/`: files, SPA fallback, content types, caching, and what it never shadows. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const dist = mkdtempSync(join(tmpdir(), 'ingot-ui-dist-'));
mkdirSync(join(dist, 'assets'));
const INDEX = '<!doctype html><title>Ingot</title><div id="root"></div>';
writeFileSync(join(dist, 'index.html'), INDEX);
writeFileSync(join(dist, 'assets', 'index-Ab12Cd34.js'), 'console.log("ui")');
writeFileSync(join(dist, 'assets', 'index-Ef56Gh78.css'), 'body{}');
writeFileSync(join(dist, 'favicon.svg'), '<svg/>');
afterAll(() => rmSync(dist, { recursive: true, force: true }));

const s = useMachineApiScenario({ uiDir: dist });
const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
  Promise.resolve(s.api.request(path, { headers }));

describe('the web UI at /', () => {
  it('serves index.html at / and for client routes, revalidated on every load, with a CSP', async () => {
    for (const path of ['/', '/machines', '/machines/abc123', '/racks/r1', '/sign-in']) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await r.text()).toBe(INDEX);
    }
  });

  it('serves hashed assets with their types, cached as immutable; ETag revalidation', async () => {
    const js = await get('/assets/index-Ab12Cd34.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toBe('console.log("ui")');
    const css = await get('/assets/index-Ef56Gh78.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await get('/favicon.svg')).headers.get('content-type')).toBe('image/svg+xml');

    const etag = js.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    expect((await get('/assets/index-Ab12Cd34.js', { 'if-none-match': etag })).status).toBe(304);
    const head = await Promise.resolve(
      s.api.request('/assets/index-Ab12Cd34.js', { method: 'HEAD' }),
    );
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log("ui")'.length));
  });

  it('answers a missing file with 404, not the page, and never leaves the directory', async () => {
    expect((await get('/assets/index-gone.js')).status).toBe(404);
    for (const path of [
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..%2f..%2fpackage.json',
    ]) {
      // The URL parser may resolve dot segments first: then it is a client route (the page).
      const r = await get(path);
      const text = await r.text();
      expect(text).not.toContain('root:');
      expect(r.status === 404 || text === INDEX, `${path}: ${r.status}`).toBe(true);
    }
  });

  it('leaves the API, metadata, health and metrics paths alone', async () => {
    const api = await get('/api/v1/nope', { authorization: `Bearer ${s.f.admin.apiKey}` });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toBe('application/problem+json');
    expect((await get('/api/v1/machines')).status).toBe(401);
    expect(await (await get('/healthz')).json()).toEqual({ ok: true });
    expect((await get('/metrics')).headers.get('content-type')).not.toContain('text/html');
    expect((await get('/MAAS/metadata/nope')).headers.get('content-type')).not.toContain(
      'text/html',
    );
    // Only GET and HEAD: a POST to a client route is not the page.
    expect((await Promise.resolve(s.api.request('/machines', { method: 'POST' }))).status).toBe(
      404,
    );
  });
});

describe('the web UI when it is not built', () => {
  const missing = useMachineApiScenario({ uiDir: join(tmpdir(), 'ingot-no-such-ui-dist') });
  it('says how to build it', async () => {
    const r = await Promise.resolve(missing.api.request('/machines'));
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await r.text()).toContain('pnpm --filter @ingot/ui build');
  });
});
