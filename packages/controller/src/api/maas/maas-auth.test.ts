import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, readJson } from '../../testing/index.ts';
import { useMachineApiScenario } from '../../testing/use-machine-api-scenario.ts';
import * as schema from './client-schema.ts';
import { maasKeyOf } from './maas-key.ts';
import { maasRequest, oauthHeader, oauthParams } from './maas-test-client.ts';

const s = useMachineApiScenario();

/** Every character percent-encoded, as a client may legally send it. */
const escapeAll = (v: string): string =>
  [...new TextEncoder().encode(v)]
    .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');

function aliceTriple(): [string, string, string] {
  const [ck = '', tk = '', ts = ''] = (maasKeyOf(s.alice.apiKey) ?? '').split(':');
  return [ck, tk, ts];
}

async function whoami(authorization: string | undefined): Promise<Response> {
  return maasRequest(s.api, 'GET', 'users/?op=whoami', { authorization });
}

describe('OAuth 1.0 PLAINTEXT with MAAS keys', () => {
  it('accepts gomaasapi’s header (QueryEscaped values, realm="") and names the user', async () => {
    const res = await maasRequest(s.api, 'GET', 'users/?op=whoami', { key: s.alice.apiKey });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(schema.whoami(body, 'whoami')).toEqual([]);
    expect(body).toMatchObject({ username: 'alice', is_superuser: false });
    const admin = await maasRequest(s.api, 'GET', 'users/?op=whoami', { key: s.f.admin.apiKey });
    expect(await readJson(admin)).toMatchObject({ username: 'admin', is_superuser: true });
  });

  it('accepts the parameters in any order, percent-escaped throughout, quoted or not', async () => {
    const [ck, tk, ts] = aliceTriple();
    const header =
      `OAuth oauth_signature=${escapeAll(`&${ts}`)}, oauth_version="1.0",` +
      `oauth_token="${escapeAll(tk)}",oauth_signature_method="PLAINTEXT", ` +
      `oauth_consumer_key="${escapeAll(ck)}", oauth_nonce="x", oauth_timestamp="1"`;
    const res = await whoami(header);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ username: 'alice' });
    const reversed = await whoami(
      oauthHeader([...oauthParams(maasKeyOf(s.alice.apiKey) ?? '')].reverse()),
    );
    expect(reversed.status).toBe(200);
  });

  const refusals: Record<string, () => string | undefined> = {
    'no header': () => undefined,
    'an Ingot Bearer key': () => `Bearer ${s.alice.apiKey}`,
    'a wrong signature': () => {
      const [ck, tk, ts] = aliceTriple();
      return oauthHeader(
        oauthParams(`${ck}:${tk}:${ts.slice(0, -1)}${ts.endsWith('A') ? 'B' : 'A'}`),
      );
    },
    'a consumer secret (MAAS has none)': () => {
      const [ck, tk, ts] = aliceTriple();
      return oauthHeader(
        oauthParams(`${ck}:${tk}:${ts}`).map(([k, v]) =>
          k === 'oauth_signature' ? [k, `consumer${v}`] : [k, v],
        ),
      );
    },
    'another key’s id with this secret': () => {
      const [, , ts] = aliceTriple();
      const [bobId = ''] = (maasKeyOf(s.bob.apiKey) ?? '').split(':');
      return oauthHeader(oauthParams(`${bobId}:${bobId}:${ts}`));
    },
    'consumer key and token that differ': () => {
      const [ck, , ts] = aliceTriple();
      const [bobId = ''] = (maasKeyOf(s.bob.apiKey) ?? '').split(':');
      return oauthHeader(oauthParams(`${ck}:${bobId}:${ts}`));
    },
    'HMAC-SHA1 instead of PLAINTEXT': () =>
      oauthHeader(
        oauthParams(maasKeyOf(s.alice.apiKey) ?? '').map(([k, v]) =>
          k === 'oauth_signature_method' ? [k, 'HMAC-SHA1'] : [k, v],
        ),
      ),
  };

  it.each(Object.entries(refusals))(
    'refuses %s with 401 and an OAuth challenge',
    async (_, header) => {
      const res = await whoami(header());
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^OAuth realm="/);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^Authorization Error: /);
    },
  );

  it('version/ answers without a key, or with a wrong one (the 401 comes from whoami)', async () => {
    const res = await maasRequest(s.api, 'GET', 'version/');
    expect(res.status).toBe(200);
    expect(schema.version(await readJson(res), 'version')).toEqual([]);
    const wrong = refusals['a wrong signature']?.();
    const signed = await maasRequest(s.api, 'GET', 'version/', { authorization: wrong });
    expect(signed.status).toBe(200);
    expect((await whoami(wrong)).status).toBe(401);
  });

  it('anything else needs a key', async () => {
    expect((await maasRequest(s.api, 'GET', 'machines/')).status).toBe(401);
    expect((await maasRequest(s.api, 'GET', 'zones/')).status).toBe(401);
  });
});

describe('small resources', () => {
  const cases: Record<string, { path: string; item: schema.Check; names?: string[] }> = {
    'zones/': { path: 'zones/', item: schema.zone, names: ['default'] },
    'pools/': { path: 'pools/', item: schema.zone, names: ['default'] },
    'resourcepools/': { path: 'resourcepools/', item: schema.zone, names: ['default'] },
    'boot-resources/': {
      path: 'boot-resources/',
      item: schema.bootResource,
      names: ['debian/bookworm'],
    },
    'domains/': { path: 'domains/', item: schema.domain, names: ['maas'] },
  };

  it.each(Object.entries(cases))('%s lists items of the client’s shape', async (_, c) => {
    const res = await maasRequest(s.api, 'GET', c.path, { key: s.alice.apiKey });
    expect(res.status).toBe(200);
    const items = await readJson<{ name: string }[]>(res);
    expect(schema.list(c.item)(items, c.path)).toEqual([]);
    if (c.names !== undefined) expect(items.map((i) => i.name)).toEqual(c.names);
  });

  it('boot-resources/ lists every image but the commissioning environment', async () => {
    const tiny = await s.f.images.create(s.f.admin.actor, {
      ...DEFAULT_IMAGE,
      os: 'ingot',
      release: 'tiny',
    });
    expect(tiny.ok).toBe(true);
    const res = await maasRequest(s.api, 'GET', 'boot-resources/', { key: s.alice.apiKey });
    const names = (await readJson<{ name: string }[]>(res)).map((r) => r.name).sort();
    expect(names).toEqual(['debian/bookworm', 'ingot/tiny']);
  });

  it('spaces/, fabrics/ and static-routes/ in the client’s shape', async () => {
    const created = await s.f.subnets.create(s.f.admin.actor, {
      cidr: '172.31.7.0/24',
      name: 'lab',
    });
    expect(created.ok).toBe(true);
    const read = async (path: string): Promise<unknown[]> => {
      const res = await maasRequest(s.api, 'GET', path, { key: s.alice.apiKey });
      expect(res.status).toBe(200);
      return readJson<unknown[]>(res);
    };
    const spaces = await read('spaces/');
    expect(schema.list(schema.space)(spaces, 'spaces')).toEqual([]);
    expect(spaces).toMatchObject([{ name: 'undefined', subnets: [{ cidr: '172.31.7.0/24' }] }]);
    const fabrics = await read('fabrics/');
    expect(schema.list(schema.fabric)(fabrics, 'fabrics')).toEqual([]);
    expect(fabrics.map((f) => (f as { name: string }).name)).toEqual(['fabric-0', 'fabric-lab']);
    expect(await read('static-routes/')).toEqual([]);
  });

  it('tags/ lists the tags machines carry', async () => {
    await s.f.machines.update(s.f.admin.actor, s.ready.id, { tags: ['ssd', 'gpu'] });
    const res = await maasRequest(s.api, 'GET', 'tags/', { key: s.alice.apiKey });
    const tags = await readJson<{ name: string }[]>(res);
    expect(schema.list(schema.tag)(tags, 'tags')).toEqual([]);
    expect(tags.map((t) => t.name)).toEqual(['gpu', 'ssd']);
  });

  it('zones/ adds the zones machines are in', async () => {
    await s.f.machines.update(s.f.admin.actor, s.ready.id, { zone: 'rack-b' });
    const res = await maasRequest(s.api, 'GET', 'zones', { key: s.alice.apiKey });
    expect((await readJson<{ name: string }[]>(res)).map((z) => z.name)).toEqual([
      'default',
      'rack-b',
    ]);
  });

  it('subnets/ lists subnets with their VLAN', async () => {
    const created = await s.f.subnets.create(s.f.admin.actor, {
      cidr: '172.31.9.0/24',
      name: 'prov',
      gateway: '172.31.9.1',
      rackId: s.rack.id,
    });
    expect(created.ok).toBe(true);
    const res = await maasRequest(s.api, 'GET', 'subnets/', { key: s.alice.apiKey });
    const subnets = await readJson<{ cidr: string }[]>(res);
    expect(schema.list(schema.subnet)(subnets, 'subnets')).toEqual([]);
    expect(subnets.map((x) => x.cidr)).toEqual(['172.31.9.0/24']);
  });

  it('account/?op=list_authorisation_tokens names the key, never its secret', async () => {
    const res = await maasRequest(s.api, 'GET', 'account/?op=list_authorisation_tokens', {
      key: s.alice.apiKey,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const [ck, tk, ts] = aliceTriple();
    expect(text).not.toContain(ts);
    expect(JSON.parse(text)).toEqual([
      { name: 'MAAS consumer', token: `${ck}:${tk}`, consumer: ck },
    ]);
  });

  it('an unknown op is a 400 naming it; an unknown endpoint a 404', async () => {
    const res = await maasRequest(s.api, 'GET', 'users/?op=frobnicate', { key: s.alice.apiKey });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('op=frobnicate');
    const none = await maasRequest(s.api, 'GET', 'nodegroups/', { key: s.alice.apiKey });
    expect(none.status).toBe(404);
  });
});

describe('POST /api/v1/users/me/api-keys (ingot users api-key --maas)', () => {
  it('mints a key shown once in both forms; the MAAS form signs MAAS requests as its user', async () => {
    const res = await s.call('POST', '/api/v1/users/me/api-keys', {
      as: 'bob',
      json: { name: 'juju' },
    });
    expect(res.status).toBe(201);
    const body = await readJson<{ api_key: string; maas_api_key: string; name: string }>(res);
    expect(body.name).toBe('juju');
    expect(body.maas_api_key).toMatch(/^[a-z0-9]{12}:[a-z0-9]{12}:[A-Za-z0-9_-]{43}$/);
    expect(maasKeyOf(body.api_key)).toBe(body.maas_api_key);
    const maas = await whoami(oauthHeader(oauthParams(body.maas_api_key)));
    expect(await readJson(maas)).toMatchObject({ username: 'bob' });
    const bearer = await s.f.users.authenticate(body.api_key);
    expect(bearer.ok && bearer.value.username).toBe('bob');
    const events = await s.f.store.listEvents({});
    expect(events.map((e) => e.message)).toContain(
      `Created API key ${body.maas_api_key.split(':')[0] ?? ''} (juju)`,
    );
    expect(JSON.stringify(events)).not.toContain(body.maas_api_key.split(':')[2]);
  });

  it('needs an Ingot key (401) and refuses a bad name (400)', async () => {
    expect(
      (await s.call('POST', '/api/v1/users/me/api-keys', { as: 'none', json: {} })).status,
    ).toBe(401);
    const bad = await s.call('POST', '/api/v1/users/me/api-keys', {
      as: 'bob',
      json: { name: '\u0007' },
    });
    expect(bad.status).toBe(400);
  });
});
