/**
 * Bad input against every operation of the REST API, derived from the API's own OpenAPI document
 * (`GET /api/v1/openapi.json`): broken schema-shaped bodies, random and deeply nested JSON, huge
 * and odd strings, prototype-polluting keys, bytes that are not JSON, wrong content types, hostile
 * path segments and query strings, wrong methods and credentials. Whatever arrives: never a 5xx,
 * every error a problem document with a 4xx status, nothing logged as unhandled, the store
 * unchanged by a refused request and `Object.prototype` untouched. The hand-written cases with
 * exact statuses live in app.bad-input.test.ts; this generalises them.
 *
 * Bounded: {@link RUNS} requests per operation from the fixed {@link SEED}. fast-check prints the
 * seed, path and counterexample of a failure; replay one with `{ seed, path }` in `fc.assert`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bodyFor,
  hostileSegment,
  operationsOf,
  queryFor,
  type FuzzBody,
  type Operation,
} from '../testing/request-fuzz.ts';
import { createServiceFixture } from '../testing/service-fixture.ts';
import { createTestApi } from '../testing/create-test-api.ts';
import { snapshotStore } from '../testing/store-snapshot.ts';
import {
  useMachineApiScenario,
  type MachineApiScenario,
} from '../testing/use-machine-api-scenario.ts';
import type { Store } from '../app/ports.ts';

/** The seed of every property below; change it to explore, keep it fixed in CI. */
const SEED = 0x1a907;
/** Requests per operation (45 operations → about 1,350 requests). */
const RUNS = 30;
const PROBLEMS = 'https://ingot.dev/problems/';

/** The operations, read from the document the API itself serves. */
async function loadOperations(): Promise<{
  operations: Operation[];
  doc: Parameters<typeof operationsOf>[0];
}> {
  const f = await createServiceFixture();
  try {
    const res = await createTestApi(f).api.request('/api/v1/openapi.json', {
      headers: { authorization: `Bearer ${f.admin.apiKey}` },
    });
    const doc = (await res.json()) as Parameters<typeof operationsOf>[0];
    return { operations: operationsOf(doc), doc };
  } finally {
    await f.close();
  }
}

const { operations, doc } = await loadOperations();

/** Whom a request is sent as; `header` sends the given Authorization value as is. */
type Who =
  | { readonly kind: 'admin' | 'alice' | 'bob' | 'none' | 'truncated' }
  | { readonly kind: 'header'; readonly value: string };

const who: fc.Arbitrary<Who> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ kind: 'admin' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'alice' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bob' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'truncated' as const }) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Bearer  x',
          'bearer ingot_',
          'Bearer ingot___',
          'OAuth oauth_token="x"',
        ),
        fc
          .string({
            unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
            maxLength: 300,
          })
          .map((t) => `Bearer ${t}`),
      )
      .map((value) => ({ kind: 'header' as const, value })),
  },
);

/** A path segment: one of the scene's real ids or names (picked at run time), or a hostile one. */
type Segment =
  | { readonly kind: 'known'; readonly pick: number }
  | { readonly kind: 'text'; readonly text: string };

const segment: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'known' as const, pick })) },
  { weight: 1, arbitrary: hostileSegment.map((text) => ({ kind: 'text' as const, text })) },
);

// Not TRACE or CONNECT: fetch's Request refuses them before they reach the app.
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'HEAD'];

interface FuzzRequest {
  readonly method: string;
  readonly who: Who;
  readonly segments: readonly Segment[];
  readonly query: string;
  readonly body: FuzzBody | undefined;
}

function requestFor(operation: Operation): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    // Mostly the operation's own method; sometimes one the route does not have.
    method: fc.oneof(
      { weight: 9, arbitrary: fc.constant(operation.method) },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    ),
    who,
    segments: fc.tuple(...operation.pathParams.map(() => segment)),
    query: queryFor(operation, doc),
    body:
      operation.body === undefined
        ? fc.option(bodyFor(operation, doc), { nil: undefined, freq: 4 })
        : fc.option(bodyFor(operation, doc), { nil: undefined, freq: 10 }),
  });
}

/**
 * Ids and names that exist in the scene, so that bodies reach the code behind the lookups: those
 * of the operation's own resource, then all of them (a machine id where a subnet id goes, say).
 */
async function knownSegments(
  s: MachineApiScenario,
  subnetId: string,
  operation: Operation,
  param: string,
): Promise<string[]> {
  const images = await s.f.store.listBootResources();
  const byResource: Record<string, string[]> = {
    machines: [s.mine.id, s.ready.id, s.locked.id],
    racks: [s.rack.id],
    subnets:
      param === 'mac' ? ['52:54:00:00:00:99', encodeURIComponent('52:54:00:00:00:99')] : [subnetId],
    images:
      param === 'sha256'
        ? images.flatMap((i) => i.files.map((file) => file.sha256))
        : images.map((i) => i.id),
    users: ['alice', 'bob', s.f.admin.user.username],
  };
  const resource = operation.path.split('/')[3] ?? '';
  const all = Object.values(byResource).flat();
  return [...(byResource[resource] ?? []), ...all];
}

function authorization(s: MachineApiScenario, w: Who): string | undefined {
  switch (w.kind) {
    case 'admin':
      return `Bearer ${s.f.admin.apiKey}`;
    case 'alice':
      return `Bearer ${s.alice.apiKey}`;
    case 'bob':
      return `Bearer ${s.bob.apiKey}`;
    case 'none':
      return undefined;
    case 'truncated':
      return `Bearer ${s.alice.apiKey.slice(0, -3)}`;
    case 'header':
      return w.value;
  }
}

/** Everything a refused request must leave alone, beyond {@link snapshotStore}. */
async function snapshot(store: Store, s: MachineApiScenario): Promise<unknown> {
  return {
    core: await snapshotStore(store),
    subnets: await store.listSubnets(),
    reservations: await store.listReservations(),
    images: await store.listBootResources(),
    sshKeys: await Promise.all([s.alice, s.bob].map((u) => store.listSshKeys(u.user.id))),
  };
}

describe('REST API fuzz: every operation of openapi.json', () => {
  const s = useMachineApiScenario({ maxBodyBytes: 4_096 });

  it('covers every operation the document lists', () => {
    expect(operations.length).toBeGreaterThanOrEqual(40);
    expect(operations.map((o) => `${o.method} ${o.path}`)).toContain('POST /api/v1/machines');
  });

  it.each(operations.map((o) => [`${o.method} ${o.path}`, o] as const))(
    '%s',
    async (_, operation) => {
      const subnet = await s.call('POST', '/api/v1/subnets', {
        json: {
          cidr: '172.31.9.0/24',
          dynamic_ranges: [{ start: '172.31.9.10', end: '172.31.9.20' }],
        },
      });
      expect(subnet.status).toBe(201);
      const subnetId = ((await subnet.json()) as { id: string }).id;
      const reservation = await s.call('POST', `/api/v1/subnets/${subnetId}/reservations`, {
        json: { mac: '52:54:00:00:00:99', ip: '172.31.9.50' },
      });
      expect(reservation.status).toBe(201);
      const known = await Promise.all(
        operation.pathParams.map((param) => knownSegments(s, subnetId, operation, param)),
      );
      let statuses = new Map<number, number>();
      let current = await snapshot(s.f.store, s);

      await fc.assert(
        fc.asyncProperty(requestFor(operation), async (r) => {
          let path = operation.path;
          for (const [index, name] of operation.pathParams.entries()) {
            const seg = r.segments[index];
            const pool = known[index] ?? [];
            // Half the known picks come from the operation's own resource (the head of the pool).
            const pick =
              seg?.kind === 'known'
                ? seg.pick % 2 === 0
                  ? seg.pick % 3
                  : seg.pick % pool.length
                : 0;
            const text =
              seg === undefined ? '' : seg.kind === 'known' ? (pool[pick] ?? '') : seg.text;
            path = path.replace(`{${name}}`, text);
          }
          const url = r.query === '' ? path : `${path}?${r.query}`;
          const headers: Record<string, string> = {};
          const auth = authorization(s, r.who);
          if (auth !== undefined) headers.authorization = auth;
          if (r.body?.contentType !== undefined) headers['content-type'] = r.body.contentType;
          const sent = r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body?.body;

          const before = current;
          const res = await s.api.request(url, {
            method: r.method,
            headers,
            body: sent,
          });
          const text = await res.text();
          // One snapshot a request: the state after this one is the state before the next.
          current = await snapshot(s.f.store, s);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const where = `${r.method} ${url.slice(0, 200)} (${r.body?.label ?? 'no body'}) → ${res.status} ${text.slice(0, 300)}`;

          expect(res.status, where).toBeLessThan(500);
          expect(Object.prototype, where).not.toHaveProperty('polluted');
          expect(Object.prototype, where).not.toHaveProperty('role');
          if (res.status < 400) return;
          expect(res.headers.get('content-type'), where).toBe('application/problem+json');
          expect(current, where).toEqual(before);
          if (r.method === 'HEAD') return; // no body by definition
          const problem = JSON.parse(text) as Record<string, unknown>;
          expect(problem.status, where).toBe(res.status);
          expect(String(problem.type), where).toMatch(new RegExp(`^${PROBLEMS}[a-z-]+$`));
          expect(typeof problem.title === 'string' && problem.title.length > 0, where).toBe(true);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      // The requests reached past authentication and validation, not only the 401 and 400 paths.
      expect([...statuses.keys()].some((status) => status !== 401 && status !== 400)).toBe(true);
      statuses = new Map();
    },
  );
});
