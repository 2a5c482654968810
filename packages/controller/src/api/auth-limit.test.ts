/** Brute-force limits at the HTTP edge: Bearer keys, MAAS OAuth, metadata tokens, rack secrets. */
import { describe, expect, it } from 'vitest';
import { issuedToken, oauthHeader, readJson } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';
import { maasKeyOf } from './maas/maas-key.ts';
import { oauthHeader as maasOAuthHeader, oauthParams } from './maas/maas-test-client.ts';

const s = useMachineApiScenario();

/** A request from `address` (as Node's server would report its socket). */
function from(address: string, path: string, headers: Record<string, string>): Promise<Response> {
  return Promise.resolve(
    s.api.request(path, { headers }, { incoming: { socket: { remoteAddress: address } } }),
  );
}

const badKey = (i: number): string => `ingot_${'z'.repeat(12)}_${String(i).padStart(43, 'q')}`;

describe('brute-force limits over HTTP', () => {
  it('answers 401 ten times, then 429 with Retry-After, for wrong Bearer keys from one address; the right key still works', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await from('10.9.0.1', '/api/v1/machines', {
        authorization: `Bearer ${badKey(i)}`,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
    const res = await from('10.9.0.1', '/api/v1/machines', {
      authorization: `Bearer ${badKey(99)}`,
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await readJson(res)).toMatchObject({
      status: 429,
      type: 'https://ingot.dev/problems/rate-limited',
    });
    const right = await from('10.9.0.1', '/api/v1/machines', {
      authorization: `Bearer ${s.f.admin.apiKey}`,
    });
    expect(right.status).toBe(200);
    s.f.clock.advance(60_000);
    const later = await from('10.9.0.1', '/api/v1/machines', {
      authorization: `Bearer ${badKey(100)}`,
    });
    expect(later.status).toBe(401);
  });

  it('limits MAAS OAuth keys the same way (429 with Retry-After)', async () => {
    let last = 0;
    for (let i = 0; i < 11; i++) {
      const id = i % 2 === 0 ? 'c'.repeat(12) : 'cccc';
      const key = `${id}:${id}:${String(i).padStart(43, 's')}`;
      const res = await from('10.9.1.1', '/MAAS/api/2.0/machines/', {
        authorization: maasOAuthHeader(oauthParams(key)),
      });
      last = res.status;
    }
    expect(last).toBe(429);
    const again = await from('10.9.1.1', '/MAAS/api/2.0/machines/', {
      authorization: maasOAuthHeader(
        oauthParams(`${'c'.repeat(12)}:${'c'.repeat(12)}:${'s'.repeat(43)}`),
      ),
    });
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('60');
    const right = await from('10.9.1.1', '/MAAS/api/2.0/machines/', {
      authorization: maasOAuthHeader(oauthParams(String(maasKeyOf(s.f.admin.apiKey)))),
    });
    expect(right.status).toBe(200);
  });

  it('counts metadata failures per machine address behind a rack, so one machine’s stale token does not lock out its neighbours', async () => {
    const deployed = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: { os: 'debian', release: 'bookworm' },
    });
    expect(deployed.status).toBe(202);
    const token = await issuedToken(s.f, s.rack.id, s.mine.id);
    const path = '/MAAS/metadata/latest/meta-data/instance-id';
    const rack = '10.9.2.1';
    for (let i = 0; i < 11; i++) {
      await from(rack, path, {
        authorization: oauthHeader(token, { secret: `wrong${i}` }).replace(
          /oauth_token="[^"]+"/,
          `oauth_token="stale${i}"`,
        ),
        'x-forwarded-for': '172.31.9.50',
      });
    }
    const wrong = { authorization: oauthHeader(token, { secret: 'wrong' }) };
    const noisy = await from(rack, path, { ...wrong, 'x-forwarded-for': '172.31.9.50' });
    expect(noisy.status).toBe(429);
    expect(noisy.headers.get('retry-after')).not.toBeNull();
    const neighbour = await from(rack, path, { ...wrong, 'x-forwarded-for': '172.31.9.51' });
    expect(neighbour.status).toBe(401);
    const right = await from(rack, path, {
      authorization: oauthHeader(token),
      'x-forwarded-for': '172.31.9.50',
    });
    expect(right.status).toBe(200);
  });

  it('limits wrong rack secrets on image downloads per rack; the rack’s own secret still works', async () => {
    const { rack, secret } = await s.f.enrollRack('rack-files');
    const [image] = await s.f.store.listBootResources();
    const path = `/api/v1/images/files/${image?.files[0]?.sha256 ?? ''}`;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await from(`10.9.3.${String(i)}`, path, {
        authorization: `Rack ${rack.id}:wrong-${String(i)}`,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
    const right = await from('10.9.3.99', path, { authorization: `Rack ${rack.id}:${secret}` });
    expect(right.status).toBe(200);
  });

  it('documents 429 on every authenticated operation in the OpenAPI document', async () => {
    const doc = await readJson<{
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: unknown[] }>
      >;
    }>(await s.api.request('/api/v1/openapi.json'));
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.responses['429'] === undefined) missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
