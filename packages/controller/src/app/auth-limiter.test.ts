import { describe, expect, it } from 'vitest';
import { useServiceFixture } from '../testing/use-service-fixture.ts';
import { AuthLimiter, type AuthLimits } from './auth-limiter.ts';
import { authenticateApiKey } from './auth-limiter-credentials.ts';

const LIMITS: AuthLimits = {
  maxFailuresPerSource: 10,
  maxFailuresPerIdentity: 10,
  windowMs: 60_000,
  rememberSuccessMs: 3_600_000,
};

/** The admin's key with its secret replaced: the same key id, a wrong secret. */
function wrongSecret(apiKey: string, n: number): string {
  return apiKey.replace(/_[^_]+$/, `_${String(n).padStart(43, 'x')}`);
}

describe('AuthLimiter', () => {
  const s = useServiceFixture(['alice']);
  const limiter = (): AuthLimiter =>
    new AuthLimiter({ store: s.f.store, bus: s.f.bus, clock: s.f.clock, limits: LIMITS });

  it('answers 10 wrong API keys from one address normally, then 429 until the window ends, without refusing the right key', async () => {
    const l = limiter();
    const deps = { users: s.f.users, authLimiter: l };
    const kinds: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await authenticateApiKey(
        deps,
        `ingot_${'a'.repeat(12)}_${'b'.repeat(42)}${i}`,
        '10.0.0.9',
      );
      kinds.push(r.ok ? 'ok' : r.error.kind);
    }
    expect(kinds).toEqual([
      ...Array<string>(10).fill('unauthenticated'),
      'rate-limited',
      'rate-limited',
    ]);
    // The right key still works from there (256-bit keys cannot be guessed; no lockout of users
    // behind the attacker's NAT address), and the refused wrong ones wrote nothing more.
    const before = await s.f.store.authFailures.getAuthFailures(['api-key:ip:10.0.0.9']);
    expect((await authenticateApiKey(deps, s.alice.apiKey, '10.0.0.9')).ok).toBe(true);
    const refused = await authenticateApiKey(deps, 'ingot_x', '10.0.0.9');
    expect(refused).toEqual({ ok: false, error: { kind: 'rate-limited', retryAfterSeconds: 60 } });
    expect(await s.f.store.authFailures.getAuthFailures(['api-key:ip:10.0.0.9'])).toEqual(before);
    s.f.clock.advance(60_000);
    const next = await authenticateApiKey(deps, 'ingot_x', '10.0.0.9');
    expect(next.ok ? 'ok' : next.error.kind).toBe('unauthenticated');
  });

  it('limits wrong secrets for one key id from many addresses, yet its owner’s right key still works', async () => {
    const deps = { users: s.f.users, authLimiter: limiter() };
    const kinds: string[] = [];
    for (let i = 0; i < 11; i++) {
      const r = await authenticateApiKey(deps, wrongSecret(s.alice.apiKey, i), `10.1.0.${i}`);
      kinds.push(r.ok ? 'ok' : r.error.kind);
    }
    expect(kinds.at(-1)).toBe('rate-limited');
    expect(kinds.slice(0, 10)).toEqual(Array<string>(10).fill('unauthenticated'));
    expect((await authenticateApiKey(deps, s.alice.apiKey, '10.1.0.99')).ok).toBe(true);
    const wrong = await authenticateApiKey(deps, wrongSecret(s.alice.apiKey, 99), '10.1.0.99');
    expect(wrong.ok ? 'ok' : wrong.error.kind).toBe('rate-limited');
  });

  it('writes one lockout audit event per locked counter, naming no secret', async () => {
    const deps = { users: s.f.users, authLimiter: limiter() };
    s.f.bus.clear();
    const keys = Array.from({ length: 15 }, (_, i) => wrongSecret(s.alice.apiKey, i));
    for (const key of keys) await authenticateApiKey(deps, key, '10.2.0.1');
    const lockouts = s.f.bus.published.filter((e) => e.step === 'auth.lockout');
    expect(lockouts.map((e) => [e.kind, e.actor, e.data['scope']])).toEqual([
      ['audit', 'system', 'identity'],
      ['audit', 'system', 'source'],
    ]);
    expect(lockouts[0]?.data).toMatchObject({ credential: 'api-key', source: '10.2.0.1' });
    const stored = await s.f.store.listEvents({ limit: 1000 });
    const text = JSON.stringify(stored);
    for (const key of [...keys, s.alice.apiKey]) {
      expect(text).not.toContain(key.split('_').at(-1));
    }
  });

  it('shares counts between controllers on one database', async () => {
    const a = { users: s.f.users, authLimiter: limiter() };
    const b = { users: s.f.users, authLimiter: limiter() };
    for (let i = 0; i < 5; i++) {
      await authenticateApiKey(a, `bad-${i}`, '10.3.0.1');
      await authenticateApiKey(b, `bad-${i}`, '10.3.0.1');
    }
    const r = await authenticateApiKey(b, 'bad-x', '10.3.0.1');
    expect(r.ok ? 'ok' : r.error.kind).toBe('rate-limited');
    const lockouts = s.f.bus.published.filter((e) => e.step === 'auth.lockout');
    expect(lockouts).toHaveLength(1);
  });

  it('lets an address that signed in as a user before through that user’s lockout, not others', async () => {
    const l = limiter();
    const home = { credential: 'password', source: '192.0.2.1', identity: 'alice' } as const;
    await l.succeeded(home);
    for (let i = 0; i < 10; i++) {
      await l.fail({ ...home, source: `198.51.100.${i}` });
    }
    expect(await l.passwordWaitMs(home)).toBe(0);
    expect(await l.passwordWaitMs({ ...home, source: '203.0.113.7' })).toBe(60_000);
    s.f.clock.advance(30_000);
    expect(await l.passwordWaitMs({ ...home, source: '203.0.113.7' })).toBe(30_000);
    s.f.clock.advance(30_000);
    expect(await l.passwordWaitMs({ ...home, source: '203.0.113.7' })).toBe(0);
  });

  it('prunes expired counters, at most once a window', async () => {
    const l = limiter();
    for (let i = 0; i < 50; i++) await l.fail({ credential: 'api-key', source: `10.4.0.${i}` });
    const keys = Array.from({ length: 50 }, (_, i) => `api-key:ip:10.4.0.${i}`);
    expect(await s.f.store.authFailures.getAuthFailures(keys)).toHaveLength(50);
    s.f.clock.advance(LIMITS.windowMs + 1);
    await l.fail({ credential: 'api-key', source: '10.4.1.1' });
    expect(await s.f.store.authFailures.getAuthFailures(keys)).toHaveLength(0);
  });
});
