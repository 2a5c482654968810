import { describe, expect, it } from 'vitest';
import { useServiceFixture } from '../testing/use-service-fixture.ts';
import { enrollmentSecret } from './rack-service.ts';

const t = useServiceFixture(['alice']);

describe('rack revocation', () => {
  it('lets only admins revoke; a revoked rack is refused and audited once', async () => {
    const { rack, secret } = await t.f.enrollRack();
    const denied = await t.f.racks.revoke(t.alice.actor, rack.id);
    expect(!denied.ok && denied.error.kind).toBe('forbidden');
    expect((await t.f.racks.authenticate(rack.id, secret)).ok).toBe(true);

    const revoked = await t.f.racks.revoke(t.f.admin.actor, rack.id);
    expect(revoked.ok && revoked.value.revokedAtMs).toBeTypeOf('number');
    const refused = await t.f.racks.authenticate(rack.id, secret);
    expect(!refused.ok && refused.error.kind).toBe('unauthenticated');
    expect(await t.f.racks.mayConnect(rack.id)).toBe(false);
    const audit = (await t.f.store.listEvents({})).filter((e) => e.step === 'rack.revoke');
    expect(audit).toMatchObject([{ kind: 'audit', rackId: rack.id, actor: 'user:admin' }]);

    const missing = await t.f.racks.revoke(t.f.admin.actor, 'no-such-rack');
    expect(!missing.ok && missing.error.kind).toBe('not-found');
  });
});

describe('enrollment tokens and certificates', () => {
  it('checks only the secret part of a token that carries a CA pin', async () => {
    expect(enrollmentSecret('ingot-enroll-abc.sha256:00ff')).toBe('ingot-enroll-abc');
    expect(enrollmentSecret('ingot-enroll-abc')).toBe('ingot-enroll-abc');
    const token = await t.f.racks.createEnrollmentToken(t.f.admin.actor);
    if (!token.ok) throw new Error(token.error.kind);
    const registered = await t.f.racks.register({
      token: `${token.value.token}.sha256:${'0'.repeat(64)}`,
      hostname: 'pinned',
      version: 'test',
      interfaces: [],
    });
    expect(registered.ok).toBe(true);
  });

  it('certifies an already enrolled rack with a new token and its secret, keeping its id', async () => {
    const { rack, secret } = await t.f.enrollRack();
    const register = async (existing: { rackId: string; secret: string }) => {
      const token = await t.f.racks.createEnrollmentToken(t.f.admin.actor);
      if (!token.ok) throw new Error(token.error.kind);
      return t.f.racks.register({
        token: token.value.token,
        hostname: 'again',
        version: 'test',
        interfaces: [],
        existing,
      });
    };
    const again = await register({ rackId: rack.id, secret });
    expect(again.ok && again.value).toMatchObject({ rack: { id: rack.id }, secret: '' });
    expect((await t.f.racks.list()).map((r) => r.id)).toEqual([rack.id]);
    const wrong = await register({ rackId: rack.id, secret: 'not-it' });
    expect(!wrong.ok && wrong.error.kind).toBe('unauthenticated');
    await t.f.racks.revoke(t.f.admin.actor, rack.id);
    expect((await register({ rackId: rack.id, secret })).ok).toBe(false);
  });
});
