import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Rack } from '../domain/rack.ts';
import {
  createServiceFixture,
  createTestApi,
  readJson,
  snapshotStore,
  uniqueMac,
  type FixtureUser,
  type ServiceFixture,
} from '../testing/index.ts';
import type { ApiApp } from './context.ts';

const PROBLEMS = 'https://ingot.dev/problems/';
const S = '/api/v1/subnets';

let f: ServiceFixture;
let api: ApiApp;
let logLines: string[];
let alice: FixtureUser;
let rack: Rack;
/** 172.31.0.0/24, gateway .1, dynamic .100–.199, with a reservation of .20. */
let lan: { id: string };
let reservedMac: string;

beforeEach(async () => {
  f = await createServiceFixture();
  ({ api, logLines } = createTestApi(f));
  alice = await f.addUser('alice');
  ({ rack } = await f.enrollRack());
  const created = await f.subnets.create(f.admin.actor, {
    cidr: '172.31.0.0/24',
    name: 'lan',
    gateway: '172.31.0.1',
    dynamicRanges: [{ start: '172.31.0.100', end: '172.31.0.199' }],
  });
  if (!created.ok) throw new Error(created.error.kind);
  lan = created.value;
  reservedMac = uniqueMac();
  const reserved = await f.subnets.reserve(f.admin.actor, lan.id, {
    mac: reservedMac,
    ip: '172.31.0.20',
  });
  if (!reserved.ok) throw new Error(reserved.error.kind);
  f.notifier.clear();
});

afterEach(async () => {
  expect(logLines).toEqual([]);
  await f.close();
});

type As = 'admin' | 'alice' | 'none';

async function call(
  method: string,
  path: string,
  c: { as?: As; json?: unknown; raw?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const as = c.as ?? 'admin';
  if (as !== 'none')
    headers.authorization = `Bearer ${as === 'admin' ? f.admin.apiKey : alice.apiKey}`;
  let body: string | undefined;
  if (c.json !== undefined || c.raw !== undefined) {
    body = c.raw ?? JSON.stringify(c.json);
    headers['content-type'] = 'application/json';
  }
  return api.request(path, { method, headers, body });
}

/** Everything a refused request must leave alone, subnets and reservations included. */
async function everything() {
  return {
    ...(await snapshotStore(f.store)),
    subnets: await f.store.listSubnets(),
    reservations: await f.store.listReservations(),
  };
}

describe('happy paths', () => {
  it('creates, reads, updates and deletes a subnet', async () => {
    const created = await call('POST', S, {
      json: {
        cidr: '10.5.0.0/24',
        gateway: '10.5.0.1',
        dns_servers: ['10.5.0.1'],
        dynamic_ranges: [{ start: '10.5.0.50', end: '10.5.0.99' }],
        lease_seconds: 600,
        dhcp_mode: 'proxy',
        rack: rack.id,
        interface: 'eth1',
      },
    });
    expect(created.status).toBe(201);
    const body = await readJson(created);
    const id = String(body.id);
    expect(await f.store.getSubnet(id)).toMatchObject({ cidr: '10.5.0.0/24' });
    expect(body).toEqual({
      id,
      cidr: '10.5.0.0/24',
      name: '10.5.0.0/24',
      gateway: '10.5.0.1',
      dns_servers: ['10.5.0.1'],
      dynamic_ranges: [{ start: '10.5.0.50', end: '10.5.0.99' }],
      lease_seconds: 600,
      domain: 'maas',
      dhcp_mode: 'proxy',
      rack_id: rack.id,
      interface: 'eth1',
    });
    expect(f.notifier.calls).toEqual([rack.id]);

    const got = await call('GET', `${S}/${id}`, { as: 'alice' });
    expect(got.status).toBe(200);
    expect(await readJson(got)).toEqual(body);

    const patched = await call('PATCH', `${S}/${id}`, {
      json: { name: 'dmz', gateway: null, rack: null },
    });
    expect(patched.status).toBe(200);
    expect(await readJson(patched)).toEqual({ ...body, name: 'dmz', gateway: null, rack_id: null });

    const list = await call('GET', S, { as: 'alice' });
    expect((await readJson<{ cidr: string }[]>(list)).map((s) => s.cidr)).toEqual([
      '10.5.0.0/24',
      '172.31.0.0/24',
    ]);

    expect((await call('DELETE', `${S}/${id}`)).status).toBe(204);
    expect((await call('GET', `${S}/${id}`)).status).toBe(404);
    expect(await f.store.getSubnet(id)).toBeUndefined();
  });

  it('reserves, lists and removes an address', async () => {
    const mac = uniqueMac();
    const res = await call('POST', `${S}/${lan.id}/reservations`, {
      json: { mac: mac.toUpperCase(), ip: '172.31.0.21', hostname: 'printer' },
    });
    expect(res.status).toBe(201);
    expect(await readJson(res)).toEqual({
      mac,
      ip: '172.31.0.21',
      hostname: 'printer',
      subnet_id: lan.id,
    });
    const list = await call('GET', `${S}/${lan.id}/reservations`, { as: 'alice' });
    expect(list.status).toBe(200);
    expect((await readJson<{ ip: string }[]>(list)).map((r) => r.ip)).toEqual([
      '172.31.0.20',
      '172.31.0.21',
    ]);
    expect((await call('DELETE', `${S}/${lan.id}/reservations/${mac}`)).status).toBe(204);
    expect(await f.store.getReservationByMac(mac)).toBeUndefined();
    expect(f.notifier.calls).toEqual([rack.id, rack.id]);
  });
});

describe('refused requests: a problem document, and the store unchanged', () => {
  interface BadCase {
    readonly method: string;
    readonly path: () => string;
    readonly as?: As;
    readonly json?: unknown;
    readonly raw?: string;
    readonly status: number;
    readonly type: string;
    readonly field?: string;
  }
  const R = () => `${S}/${lan.id}/reservations`;
  const cases: Record<string, BadCase> = {
    'malformed JSON': {
      method: 'POST',
      path: () => S,
      raw: '{"cidr":',
      status: 400,
      type: 'invalid',
    },
    'no CIDR': { method: 'POST', path: () => S, json: { name: 'x' }, status: 400, type: 'invalid' },
    'an unknown field': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', vlan: 7 },
      status: 400,
      type: 'invalid',
    },
    'a gateway that is not an address': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', gateway: 'router' },
      status: 400,
      type: 'invalid',
    },
    'a string lease': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', lease_seconds: '3600' },
      status: 400,
      type: 'invalid',
    },
    'an unknown DHCP mode': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', dhcp_mode: 'relay' },
      status: 400,
      type: 'invalid',
    },
    'a range with an extra field': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', dynamic_ranges: [{ start: '10.0.0.5', end: '10.0.0.9', x: 1 }] },
      status: 400,
      type: 'invalid',
    },
    'host bits in the CIDR': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.1/24' },
      status: 400,
      type: 'invalid',
      field: 'cidr',
    },
    'a lease too short': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', lease_seconds: 5 },
      status: 400,
      type: 'invalid',
      field: 'lease_seconds',
    },
    'an unknown rack': {
      method: 'POST',
      path: () => S,
      json: { cidr: '10.0.0.0/24', rack: 'no-such-rack' },
      status: 400,
      type: 'invalid',
      field: 'rack',
    },
    'an overlapping subnet': {
      method: 'POST',
      path: () => S,
      json: { cidr: '172.31.0.128/25' },
      status: 409,
      type: 'conflict',
    },
    'an update with an unknown field': {
      method: 'PATCH',
      path: () => `${S}/${lan.id}`,
      json: { id: 'other' },
      status: 400,
      type: 'invalid',
    },
    'an update stranding a reservation': {
      method: 'PATCH',
      path: () => `${S}/${lan.id}`,
      json: { dynamic_ranges: [{ start: '172.31.0.10', end: '172.31.0.30' }] },
      status: 409,
      type: 'conflict',
    },
    'an update of an unknown subnet': {
      method: 'PATCH',
      path: () => `${S}/nope`,
      json: { name: 'x' },
      status: 404,
      type: 'not-found',
    },
    'a reservation in a dynamic range': {
      method: 'POST',
      path: R,
      json: { mac: '02:00:00:00:00:01', ip: '172.31.0.150' },
      status: 400,
      type: 'invalid',
      field: 'ip',
    },
    'a reservation of a malformed address': {
      method: 'POST',
      path: R,
      json: { mac: '02:00:00:00:00:01', ip: '172.31.0' },
      status: 400,
      type: 'invalid',
    },
    'a reservation of a malformed MAC': {
      method: 'POST',
      path: R,
      json: { mac: '02:00:00:00:00:zz', ip: '172.31.0.30' },
      status: 400,
      type: 'invalid',
      field: 'mac',
    },
    'a reservation of a reserved address': {
      method: 'POST',
      path: R,
      json: { mac: '02:00:00:00:00:01', ip: '172.31.0.20' },
      status: 409,
      type: 'conflict',
    },
    'removing a reservation that is not there': {
      method: 'DELETE',
      path: () => `${R()}/02:00:00:00:00:01`,
      status: 404,
      type: 'not-found',
    },
    'a user creating a subnet': {
      method: 'POST',
      path: () => S,
      as: 'alice',
      json: { cidr: '10.0.0.0/24' },
      status: 403,
      type: 'forbidden',
    },
    'a user changing a subnet': {
      method: 'PATCH',
      path: () => `${S}/${lan.id}`,
      as: 'alice',
      json: { name: 'mine' },
      status: 403,
      type: 'forbidden',
    },
    'a user deleting a subnet': {
      method: 'DELETE',
      path: () => `${S}/${lan.id}`,
      as: 'alice',
      status: 403,
      type: 'forbidden',
    },
    'a user reserving': {
      method: 'POST',
      path: R,
      as: 'alice',
      json: { mac: '02:00:00:00:00:01', ip: '172.31.0.30' },
      status: 403,
      type: 'forbidden',
    },
    'a user removing a reservation': {
      method: 'DELETE',
      path: () => `${R()}/${reservedMac}`,
      as: 'alice',
      status: 403,
      type: 'forbidden',
    },
    'no API key': {
      method: 'GET',
      path: () => S,
      as: 'none',
      status: 401,
      type: 'unauthenticated',
    },
  };

  it.each(Object.entries(cases))('%s', async (_, c) => {
    const before = await everything();
    const res = await call(c.method, c.path(), c);
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = await readJson(res);
    expect(problem).toMatchObject({ type: PROBLEMS + c.type, status: c.status });
    expect(typeof problem.detail).toBe('string');
    if (c.field !== undefined) expect(problem.field).toBe(c.field);
    expect(await everything()).toEqual(before);
    expect(f.notifier.calls).toEqual([]);
  });
});
