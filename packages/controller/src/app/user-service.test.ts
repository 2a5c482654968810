import { FakeClock } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, RecordingEventBus, snapshotStore } from '../testing/index.ts';
import { useServiceFixture } from '../testing/use-service-fixture.ts';
import { UserService } from './user-service.ts';

const t = useServiceFixture(['alice']);

describe('authenticate', () => {
  it('resolves a good key to its user', async () => {
    expect(await t.f.users.authenticate(t.alice.apiKey)).toEqual({ ok: true, value: t.alice.user });
    expect(await t.f.users.authenticate(t.f.admin.apiKey)).toEqual({
      ok: true,
      value: t.f.admin.user,
    });
  });

  const cases: Record<string, (key: string) => string> = {
    'wrong secret': (key) => key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'),
    'unknown key id': (key) => key.replace(/^ingot_[a-z0-9]{12}_/, 'ingot_aaaaaaaaaaaa_'),
    empty: () => '',
    'not a key': () => 'hunter2',
    'prefix only': (key) => key.slice(0, 19),
    'secret too short': (key) => key.slice(0, -1),
    'secret too long': (key) => `${key}A`,
    'upper-case id': (key) =>
      key.replace(/^ingot_([a-z0-9]{12})/, (_, id: string) => `ingot_${id.toUpperCase()}`),
    'with the Bearer prefix': (key) => `Bearer ${key}`,
    'surrounding space': (key) => ` ${key} `,
    'another prefix': (key) => key.replace(/^ingot_/, 'maas_'),
  };

  it.each(Object.entries(cases))('refuses %s', async (_, mangle) => {
    const key = mangle(t.alice.apiKey);
    expect(key).not.toBe(t.alice.apiKey);
    expect(await t.f.users.authenticate(key)).toEqual({
      ok: false,
      error: { kind: 'unauthenticated', detail: 'missing, malformed or unknown API key' },
    });
  });

  it('stores only a hash of the secret', async () => {
    const id = /^ingot_([a-z0-9]{12})_/.exec(t.alice.apiKey)?.[1] ?? '';
    const record = await t.f.store.getApiKey(id);
    expect(record?.userId).toBe(t.alice.user.id);
    expect(t.alice.apiKey).not.toContain(record?.secretHash ?? '');
    expect(record?.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('create', () => {
  it('creates a user whose key works, and writes an audit event', async () => {
    t.f.bus.clear();
    const created = await t.f.users.create(t.f.admin.actor, { username: 'bob', role: 'admin' });
    if (!created.ok) throw new Error(created.error.kind);
    expect(created.value.user).toMatchObject({
      username: 'bob',
      role: 'admin',
      createdAtMs: t.f.clock.now(),
    });
    expect(await t.f.users.authenticate(created.value.apiKey)).toEqual({
      ok: true,
      value: created.value.user,
    });
    expect(t.f.bus.published).toMatchObject([
      { kind: 'audit', step: 'user.create', actor: 'user:admin' },
    ]);
  });

  it.each(
    Object.entries({
      'by a non-admin': { as: 'alice', username: 'bob', kind: 'forbidden' },
      'with a taken name': { as: 'admin', username: 'alice', kind: 'conflict' },
      'with an upper-case name': { as: 'admin', username: 'Bob', kind: 'invalid' },
      'with an empty name': { as: 'admin', username: '', kind: 'invalid' },
      'with a name starting with a digit': { as: 'admin', username: '1bob', kind: 'invalid' },
      'with a name of 64 characters': {
        as: 'admin',
        username: `b${'o'.repeat(63)}`,
        kind: 'invalid',
      },
    } as const),
  )('refuses a user %s and writes nothing', async (_, c) => {
    const before = await snapshotStore(t.f.store);
    const actor = c.as === 'admin' ? t.f.admin.actor : t.alice.actor;
    const created = await t.f.users.create(actor, { username: c.username, role: 'user' });
    expect(created).toMatchObject({ ok: false, error: { kind: c.kind } });
    expect(await snapshotStore(t.f.store)).toEqual(before);
  });
});

describe('list and bootstrap', () => {
  it('shows admins every user and users only themselves', async () => {
    expect((await t.f.users.list(t.f.admin.actor)).map((u) => u.username)).toEqual([
      'admin',
      'alice',
    ]);
    expect(await t.f.users.list(t.alice.actor)).toEqual([t.alice.user]);
  });

  it('creates the admin only on first start', async () => {
    expect(await t.f.users.bootstrapAdmin()).toBeUndefined();
    expect(await t.f.store.countUsers()).toBe(2);
  });
});

describe('bootstrapAdmin on a shared database', () => {
  it('two controllers starting at once on an empty store make one admin, and neither fails', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const controllers = [0, 1].map(
        () => new UserService({ store, bus: new RecordingEventBus(), clock: new FakeClock() }),
      );
      const keys = await Promise.all(controllers.map((users) => users.bootstrapAdmin()));
      expect(keys.filter((k) => k !== undefined)).toHaveLength(1);
      expect((await store.listUsers()).map((u) => u.username)).toEqual(['admin']);
    } finally {
      await store.close();
    }
  });
});
