/**
 * Bad input against the two non-REST HTTP surfaces: the MAAS 2.0 API (`/MAAS/api/2.0/`, OAuth
 * PLAINTEXT over API keys, form bodies, `op=`) and the machines' metadata service
 * (`/MAAS/metadata/`, OAuth with a machine's token, JSON status reports). Random resources and ops,
 * random urlencoded, multipart, JSON and binary bodies, hostile ids, broken OAuth headers. Whatever
 * arrives: never a 5xx, nothing logged as unhandled, the store unchanged by a refused request; the
 * metadata service's errors are problem documents (the MAAS API answers MAAS's plain text).
 *
 * Bounded: {@link RUNS} requests per property from the fixed {@link SEED}; fast-check prints the
 * seed and counterexample of a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Store } from '../app/ports.ts';
import { issuedToken, oauthHeader as metadataOAuth } from '../testing/metadata-client.ts';
import {
  hostileJson,
  hostileSegment,
  nastyString,
  withPollutingKeys,
} from '../testing/request-fuzz.ts';
import { snapshotStore } from '../testing/store-snapshot.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';
import { maasKeyOf } from './maas/maas-key.ts';
import { oauthHeader, oauthParams } from './maas/maas-test-client.ts';

const SEED = 0x3aa5;
const RUNS = 300;

const s = useMachineApiScenario({ maxBodyBytes: 4_096 });

/** Header values that are not a usable OAuth PLAINTEXT signature. */
const brokenOAuth = (validParams: () => [string, string][]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      '',
      'OAuth',
      'OAuth ',
      'OAuth realm=""',
      'OAuth oauth_token',
      'OAuth oauth_token=',
      'OAuth oauth_token="',
      'OAuth oauth_token="a", oauth_token="b"',
      'OAuth ,,,,',
      'OAuth oauth_signature="%"',
      'OAuth oauth_signature="%zz"',
      'OAuth oauth_consumer_key="a", oauth_token="b", oauth_signature="&c", oauth_signature_method="HMAC-SHA1"',
      'Bearer nothing',
      'Basic YWxpY2U6c2VjcmV0',
    ),
    // A valid header with one parameter dropped, emptied, duplicated or replaced.
    fc.tuple(fc.nat(), fc.nat({ max: 3 }), nastyString).map(([which, how, nasty]) => {
      // Lone surrogates cannot be percent-encoded (URIError): no client could send them.
      const text = nasty.replace(/[\ud800-\udfff]/g, 'x');
      const params = validParams();
      const i = which % params.length;
      const [name = ''] = params[i] ?? [];
      if (how === 0) params.splice(i, 1);
      else if (how === 1) params[i] = [name, ''];
      else if (how === 2) params.push([name, text]);
      else params[i] = [name, text];
      return oauthHeader(params);
    }),
    fc
      .string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 400,
      })
      .map((t) => `OAuth ${t}`),
  );

/** Form fields: names MAAS clients send, others, polluting ones, with nasty values. */
const formFields: fc.Arbitrary<[string, string][]> = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom(
        'op',
        'system_id',
        'hostname',
        'arch',
        'cpu_count',
        'mem',
        'tags',
        'not_tags',
        'zone',
        'not_in_zone',
        'pool',
        'not_in_pool',
        'storage',
        'interfaces',
        'agent_name',
        'dry_run',
        'distro_series',
        'hwe_kernel',
        'user_data',
        'ephemeral_deploy',
        'erase',
        'quick_erase',
        'comment',
        'machines',
        'id',
        'status',
        'mac_address',
        'name',
        '__proto__',
        'constructor',
        'owner_data',
      ),
      fc.string({ maxLength: 12 }),
    ),
    fc.oneof(
      nastyString,
      fc.constantFrom(
        'true',
        'false',
        '0',
        '-1',
        '1e309',
        'amd64/generic',
        'bookworm',
        'label:10(ssd)',
      ),
      fc.nat().map(String),
    ),
  ),
  { maxLength: 8 },
);

const MAAS_OPS = [
  'allocate',
  'release',
  'deploy',
  'power_on',
  'power_off',
  'query_power_state',
  'abort',
  'mark_broken',
  'mark_fixed',
  'set_owner_data',
  'lock',
  'unlock',
  'whoami',
  'list_authorisation_tokens',
  'create_authorisation_token',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

const MAAS_RESOURCES = [
  'machines/',
  'machines',
  'machines/{id}/',
  'machines/{id}/',
  'machines/{id}/',
  'machines/{id}',
  'version/',
  'users/',
  'account/',
  'zones/',
  'pools/',
  'resourcepools/',
  'tags/',
  'boot-resources/',
  'subnets/',
  'domains/',
  'spaces/',
  'fabrics/',
  'static-routes/',
  'nodes/',
  '{id}/',
];

interface MaasFuzz {
  readonly method: string;
  readonly resource: string;
  readonly id: { readonly known: number } | { readonly text: string };
  readonly ops: readonly string[];
  readonly opInBody: boolean;
  readonly who: 'admin' | 'alice' | 'bob' | { readonly header: string };
  readonly form: [string, string][];
  readonly encoding: 'urlencoded' | 'multipart' | 'json' | 'bytes' | 'query';
  readonly bytes: Uint8Array;
}

/** Everything a refused request must leave alone. */
async function snapshot(store: Store): Promise<unknown> {
  return { core: await snapshotStore(store), subnets: await store.listSubnets() };
}

function maasAuthorization(key: string): string {
  const maasKey = maasKeyOf(key);
  if (maasKey === undefined) throw new Error('not an Ingot API key');
  return oauthHeader(oauthParams(maasKey));
}

describe('MAAS API fuzz', () => {
  const request = (): fc.Arbitrary<MaasFuzz> =>
    fc.record({
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('GET', 'POST') },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS') },
      ),
      resource: fc.constantFrom(...MAAS_RESOURCES),
      id: fc.oneof(
        { weight: 2, arbitrary: fc.nat().map((known) => ({ known })) },
        { weight: 1, arbitrary: hostileSegment.map((text) => ({ text })) },
      ),
      ops: fc.array(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...MAAS_OPS) },
          { weight: 1, arbitrary: nastyString },
        ),
        { maxLength: 2 },
      ),
      opInBody: fc.boolean(),
      who: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom('admin' as const, 'alice' as const, 'bob' as const),
        },
        {
          weight: 3,
          arbitrary: brokenOAuth(() => oauthParams(maasKeyOf(s.alice.apiKey) ?? '')).map(
            (header) => ({
              header,
            }),
          ),
        },
      ),
      form: formFields,
      encoding: fc.constantFrom('urlencoded', 'multipart', 'json', 'bytes', 'query'),
      bytes: fc.uint8Array({ maxLength: 200 }),
    });

  it(`survives ${RUNS} random requests: no 5xx, refused requests change nothing`, async () => {
    const known = [s.mine.id, s.ready.id, s.locked.id, 'nosuch'];
    const statuses = new Map<number, number>();
    let current = await snapshot(s.f.store);
    await fc.assert(
      fc.asyncProperty(request(), async (r) => {
        const id = 'known' in r.id ? (known[r.id.known % known.length] ?? '') : r.id.text;
        const ops = r.ops.map((op): [string, string] => ['op', op]);
        const query = new URLSearchParams(r.opInBody ? [] : ops);
        const fields = r.opInBody ? [...ops, ...r.form] : r.form;
        const headers: Record<string, string> = {};
        if (typeof r.who === 'object') {
          if (r.who.header !== '') headers.authorization = r.who.header;
        } else {
          const key = { admin: s.f.admin.apiKey, alice: s.alice.apiKey, bob: s.bob.apiKey }[r.who];
          headers.authorization = maasAuthorization(key);
        }
        let body: string | FormData | Uint8Array | undefined;
        switch (r.encoding) {
          case 'urlencoded':
            body = new URLSearchParams(fields).toString();
            headers['content-type'] = 'application/x-www-form-urlencoded';
            break;
          case 'multipart': {
            const data = new FormData();
            for (const [k, v] of fields) data.append(k, v);
            body = data;
            break;
          }
          case 'json':
            body = JSON.stringify(Object.fromEntries(fields));
            headers['content-type'] = 'application/json';
            break;
          case 'bytes':
            body = r.bytes;
            headers['content-type'] =
              r.bytes.length % 2 === 0
                ? 'multipart/form-data; boundary=x'
                : 'application/x-www-form-urlencoded';
            break;
          case 'query':
            for (const [k, v] of fields) query.append(k, v);
        }
        const qs = query.toString();
        const url = `/MAAS/api/2.0/${r.resource.replace('{id}', id)}${qs === '' ? '' : `?${qs}`}`;
        const before = current;
        const res = await s.api.request(url, {
          method: r.method,
          headers,
          body: r.method === 'GET' || r.method === 'HEAD' ? undefined : body,
        });
        const text = await res.text();
        current = await snapshot(s.f.store); // the state before the next request
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const where = `${r.method} ${url.slice(0, 200)} (${r.encoding}) → ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, where).toBeLessThan(500);
        expect(Object.prototype, where).not.toHaveProperty('polluted');
        if (res.status >= 400) expect(current, where).toEqual(before);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Past OAuth into the resources and ops, not only refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 20);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(RUNS / 20);
  });
});

/** A status report shaped like the installer's and cloud-init's, with any field made hostile. */
const report: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({
    event_type: fc.constantFrom('start', 'finish'),
    origin: fc.constantFrom('ingot-installer', 'cloudinit'),
    name: fc.constantFrom('install.image', 'install.storage', 'modules-final'),
    description: fc.string({ maxLength: 50 }),
    result: fc.constantFrom('SUCCESS', 'FAIL', 'WARN'),
    timestamp: fc.double({ min: 0, max: 2e9, noNaN: true }),
  }),
  fc
    .record(
      {
        event_type: fc.oneof(fc.constantFrom('start', 'finish'), hostileJson),
        origin: fc.oneof(fc.constantFrom('ingot-installer', 'cloudinit', 'curtin'), hostileJson),
        name: fc.oneof(
          fc.constantFrom('install.image', 'modules-final', 'deployed'),
          nastyString,
          hostileJson,
        ),
        description: fc.oneof(nastyString, hostileJson),
        result: fc.oneof(fc.constantFrom('SUCCESS', 'FAIL', 'WARN'), hostileJson),
        timestamp: fc.oneof(fc.double(), hostileJson),
        progress: fc.oneof(fc.record({ done: fc.double(), total: fc.double() }), hostileJson),
        files: fc.oneof(
          fc.array(
            fc.record({
              path: fc.oneof(nastyString, hostileJson),
              encoding: fc.oneof(
                fc.constantFrom('base64', 'gzip+base64', 'utf-8', ''),
                hostileJson,
              ),
              content: fc.oneof(nastyString, fc.base64String({ maxLength: 200 }), hostileJson),
            }),
            { maxLength: 3 },
          ),
          hostileJson,
        ),
      },
      { requiredKeys: [] },
    )
    .chain((v) => fc.constantFrom(v, JSON.parse(withPollutingKeys(JSON.stringify(v))) as unknown)),
  hostileJson,
);

const METADATA_PATHS = [
  '',
  'latest/',
  'latest/meta-data/',
  'latest/meta-data/instance-id',
  'latest/meta-data/local-hostname',
  'latest/meta-data/public-keys',
  'latest/meta-data/{id}',
  '2012-03-01/user-data',
  'latest/user-data',
  'latest/install-config',
  'latest/commissioning',
  '{id}/user-data',
  'status/{id}',
  'status/{id}',
  'status/{id}',
  'status/',
  'status/{id}/{id}',
];

describe('metadata service fuzz', () => {
  it(`survives ${RUNS} random requests: no 5xx, problem documents, refused requests change nothing`, async () => {
    const deployed = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: { os: 'debian', release: 'bookworm' },
    });
    expect(deployed.status).toBe(202);
    const token = await issuedToken(s.f, s.rack.id, s.mine.id);
    const valid = (): [string, string][] => {
      const [consumer = '', key = '', secret = ''] = token.split(':');
      return [
        ['oauth_consumer_key', consumer],
        ['oauth_token', key],
        ['oauth_signature_method', 'PLAINTEXT'],
        ['oauth_signature', `&${secret}`],
      ];
    };
    const known = [s.mine.id, s.ready.id];
    const statuses = new Map<number, number>();
    let current = await snapshot(s.f.store);
    const request = fc.record({
      // Mostly the method the path serves (POST for reports and facts), sometimes another.
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH') },
      ),
      path: fc.constantFrom(...METADATA_PATHS),
      id: fc.oneof(
        { weight: 2, arbitrary: fc.nat().map((pick) => known[pick % known.length] ?? '') },
        { weight: 1, arbitrary: hostileSegment },
      ),
      auth: fc.oneof(
        { weight: 3, arbitrary: fc.constant(metadataOAuth(token)) },
        { weight: 1, arbitrary: fc.constant(metadataOAuth(token, { secret: 'wrong' })) },
        { weight: 2, arbitrary: brokenOAuth(valid) },
      ),
      body: fc.oneof(
        { weight: 4, arbitrary: report.map((v) => JSON.stringify(v)) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
        { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '{"event_type":"start"}') },
      ),
      contentType: fc.constantFrom(
        undefined,
        'application/json',
        'text/plain',
        'multipart/form-data',
      ),
    });

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const url = `/MAAS/metadata/${r.path.replaceAll('{id}', r.id)}`;
        const method = r.method ?? (/status|commissioning/.test(r.path) ? 'POST' : 'GET');
        const headers: Record<string, string> = {};
        if (r.auth !== '') headers.authorization = r.auth;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        const before = current;
        const res = await s.api.request(url, {
          method,
          headers,
          body: method === 'GET' ? undefined : r.body,
        });
        const text = await res.text();
        current = await snapshot(s.f.store); // the state before the next request
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const where = `${method} ${url.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, where).toBeLessThan(500);
        expect(Object.prototype, where).not.toHaveProperty('polluted');
        if (res.status < 400) return;
        expect(res.headers.get('content-type'), where).toBe('application/problem+json');
        expect((JSON.parse(text) as { status?: unknown }).status, where).toBe(res.status);
        expect(current, where).toEqual(before);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 20);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(RUNS / 20);
  });
});
