/** `/api/v1/users/me/ssh-keys` in process. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();
const KEYS = join(import.meta.dirname, '..', 'domain', 'testdata', 'ssh-keys');
const key = (file: string): string => readFileSync(join(KEYS, file), 'utf8').trim();
const PATH = '/api/v1/users/me/ssh-keys';

interface KeyJson {
  id: string;
  key: string;
  fingerprint: string;
  comment: string;
}

describe('SSH keys', () => {
  it('adds, lists and removes keys of the signed-in user, with audit events', async () => {
    const added = await s.call('POST', PATH, { as: 'alice', json: { key: key('ed25519.pub') } });
    expect(added.status).toBe(201);
    const ed = await readJson<KeyJson>(added);
    expect(ed).toMatchObject({
      key: key('ed25519.pub'),
      fingerprint: 'SHA256:FtpvILgy5tEvbxFTfWM7/9zTMmhGo5xj9fMMEy36dfE',
      comment: 'alice@laptop',
    });
    s.f.clock.advance(1);
    expect(
      (await s.call('POST', PATH, { as: 'alice', json: { key: key('sk-ecdsa.pub') } })).status,
    ).toBe(201);

    const listed = await readJson<KeyJson[]>(await s.call('GET', PATH, { as: 'alice' }));
    expect(listed.map((k) => k.comment)).toEqual(['alice@laptop', 'dave@yubikey']);
    expect(await readJson(await s.call('GET', PATH, { as: 'bob' }))).toEqual([]);

    // Bob cannot remove alice's key: to him it does not exist.
    expect((await s.call('DELETE', `${PATH}/${ed.id}`, { as: 'bob' })).status).toBe(404);
    expect((await s.call('DELETE', `${PATH}/${ed.id}`, { as: 'alice' })).status).toBe(204);
    expect((await s.call('DELETE', `${PATH}/${ed.id}`, { as: 'alice' })).status).toBe(404);
    expect((await readJson<KeyJson[]>(await s.call('GET', PATH, { as: 'alice' }))).length).toBe(1);

    const audits = (await s.f.store.listEvents({})).filter((e) =>
      e.step.startsWith('user.ssh-key'),
    );
    expect(audits.map((e) => [e.step, e.actor])).toEqual([
      ['user.ssh-key.add', 'user:alice'],
      ['user.ssh-key.add', 'user:alice'],
      ['user.ssh-key.remove', 'user:alice'],
    ]);
    expect(audits[0]?.message).toContain('SHA256:FtpvILgy5tEvbxFTfWM7/9zTMmhGo5xj9fMMEy36dfE');
  });

  it('refuses the same key twice (409) and keys that do not decode (400)', async () => {
    const rsa = key('rsa.pub');
    expect((await s.call('POST', PATH, { as: 'alice', json: { key: rsa } })).status).toBe(201);
    // The same key with another comment is still the same key.
    const again = await s.call('POST', PATH, {
      as: 'alice',
      json: { key: rsa.replace('bob@build host', 'other') },
    });
    expect(again.status).toBe(409);
    // Bob may have it too.
    expect((await s.call('POST', PATH, { as: 'bob', json: { key: rsa } })).status).toBe(201);
    const [type, data = ''] = rsa.split(' ');
    for (const bad of [`ssh-ed25519 ${data}`, `${type ?? ''} ${data.slice(0, 40)}`, 'hello']) {
      const res = await s.call('POST', PATH, { as: 'alice', json: { key: bad } });
      expect(res.status).toBe(400);
      expect(await readJson(res)).toMatchObject({ field: 'key' });
    }
    expect((await s.call('POST', PATH, { as: 'alice', json: { key: rsa, extra: 1 } })).status).toBe(
      400,
    );
  });

  it('needs an API key', async () => {
    expect((await s.call('GET', PATH, { as: 'none' })).status).toBe(401);
    expect((await s.call('POST', PATH, { as: 'wrong-key', json: { key: 'x' } })).status).toBe(401);
  });
});
