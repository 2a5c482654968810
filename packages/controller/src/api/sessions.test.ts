/** Password sign-in for the web UI: `/api/v1/sessions` and `PUT /api/v1/users/{name}/password`. */
import { describe, expect, it } from 'vitest';
import { readJson } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();

const signIn = (username: string, password: string): Promise<Response> =>
  s.call('POST', '/api/v1/sessions', { as: 'none', json: { username, password } });

const withKey = (key: string, method: string, path: string): Promise<Response> =>
  Promise.resolve(s.api.request(path, { method, headers: { authorization: `Bearer ${key}` } }));

describe('sign-in sessions', () => {
  it('an admin sets a password; the user signs in, uses the session key, and signs out', async () => {
    const set = await s.call('PUT', '/api/v1/users/alice/password', {
      json: { password: 'correct horse battery' },
    });
    expect(set.status).toBe(204);

    const r = await signIn('alice', 'correct horse battery');
    expect(r.status).toBe(201);
    const body = await readJson<{ api_key: string; user: { username: string; role: string } }>(r);
    expect(body.user).toMatchObject({ username: 'alice', role: 'user' });
    expect(body.api_key).toMatch(/^ingot_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);

    const me = await withKey(body.api_key, 'GET', '/api/v1/users/me');
    expect(me.status).toBe(200);
    expect(await readJson(me)).toMatchObject({ username: 'alice' });

    expect((await withKey(body.api_key, 'DELETE', '/api/v1/sessions/current')).status).toBe(204);
    expect((await withKey(body.api_key, 'GET', '/api/v1/users/me')).status).toBe(401);

    const audits = (await s.f.store.listEvents({})).filter((e) => e.kind === 'audit');
    expect(audits.map((e) => [e.step, e.actor])).toEqual(
      expect.arrayContaining([
        ['user.password', 'user:admin'],
        ['session.create', 'user:alice'],
      ]),
    );
    // Only hashes are stored, never the password.
    const stored = await s.f.store.getPasswordHash(s.alice.user.id);
    expect(stored).toMatch(/^scrypt\$/);
    expect(stored).not.toContain('correct horse');
  });

  it('refuses a wrong password, an unknown user and a user without a password alike', async () => {
    await s.call('PUT', '/api/v1/users/alice/password', { json: { password: 'alice-password' } });
    for (const [user, password] of [
      ['alice', 'wrong-password'],
      ['nobody', 'alice-password'],
      ['bob', 'alice-password'],
    ] as const) {
      const r = await signIn(user, password);
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect((await readJson<{ detail: string }>(r)).detail).toBe('wrong username or password');
    }
  });

  it('limits failed sign-ins per username: 429 with Retry-After, even for the right password', async () => {
    await s.call('PUT', '/api/v1/users/alice/password', { json: { password: 'alice-password' } });
    for (let i = 0; i < 10; i++) expect((await signIn('alice', `guess-${i}`)).status).toBe(401);
    const limited = await signIn('alice', 'alice-password');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // In process every request comes from the address "unknown": the per-address limit holds
    // for other usernames too.
    await s.call('PUT', '/api/v1/users/bob/password', { json: { password: 'bob-password' } });
    expect((await signIn('bob', 'bob-password')).status).toBe(429);
    s.f.clock.advance(61_000);
    expect((await signIn('alice', 'alice-password')).status).toBe(201);
    expect((await signIn('bob', 'bob-password')).status).toBe(201);
  });

  it('users set only their own password; passwords are 8 to 1024 characters', async () => {
    expect(
      (
        await s.call('PUT', '/api/v1/users/bob/password', {
          as: 'alice',
          json: { password: 'x'.repeat(12) },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await s.call('PUT', '/api/v1/users/alice/password', {
          as: 'alice',
          json: { password: 'x'.repeat(12) },
        })
      ).status,
    ).toBe(204);
    const short = await s.call('PUT', '/api/v1/users/alice/password', {
      json: { password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(await readJson(short)).toMatchObject({ field: 'password' });
    expect(
      (await s.call('PUT', '/api/v1/users/nobody/password', { json: { password: 'x'.repeat(12) } }))
        .status,
    ).toBe(404);
    expect(
      (
        await s.call('PUT', '/api/v1/users/alice/password', {
          as: 'none',
          json: { password: 'x'.repeat(12) },
        })
      ).status,
    ).toBe(401);
  });

  it('a session key stops working 12 hours after sign-in; ordinary keys do not expire', async () => {
    await s.call('PUT', '/api/v1/users/alice/password', { json: { password: 'alice-password' } });
    const r = await readJson<{ api_key: string; expires_at: string }>(
      await signIn('alice', 'alice-password'),
    );
    expect(Date.parse(r.expires_at) - s.f.clock.now()).toBe(12 * 3600_000);
    s.f.clock.advance(12 * 3600_000 - 1);
    expect((await withKey(r.api_key, 'GET', '/api/v1/users/me')).status).toBe(200);
    s.f.clock.advance(1);
    const expired = await withKey(r.api_key, 'GET', '/api/v1/users/me');
    expect(expired.status).toBe(401);
    expect((await s.call('GET', '/api/v1/users/me', { as: 'alice' })).status).toBe(200);
  });

  it('signing out needs a session key: ordinary API keys stay (409)', async () => {
    const r = await s.call('DELETE', '/api/v1/sessions/current', { as: 'alice' });
    expect(r.status).toBe(409);
    expect((await s.call('GET', '/api/v1/users/me', { as: 'alice' })).status).toBe(200);
    expect((await s.call('DELETE', '/api/v1/sessions/current', { as: 'none' })).status).toBe(401);
  });

  it('sign-in is in the OpenAPI document and open without a key', async () => {
    const doc = await readJson<{ paths: Record<string, Record<string, unknown>> }>(
      await s.call('GET', '/api/v1/openapi.json', { as: 'none' }),
    );
    expect(Object.keys(doc.paths['/api/v1/sessions'] ?? {})).toEqual(['post']);
    expect(doc.paths['/api/v1/sessions/current']).toHaveProperty('delete');
    expect(doc.paths['/api/v1/users/{username}/password']).toHaveProperty('put');
  });
});
