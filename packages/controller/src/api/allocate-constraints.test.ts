import { describe, expect, it } from 'vitest';
import { readJson, snapshotStore } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();

/** Allocates as bob with `constraints`; the allocated hostname, or the HTTP status. */
async function allocate(constraints: Record<string, unknown>): Promise<string | number> {
  const res = await s.call('POST', '/api/v1/machines/allocate', { as: 'bob', json: constraints });
  if (res.status !== 200) return res.status;
  return (await readJson<{ hostname: string }>(res)).hostname;
}

describe('POST /api/v1/machines/allocate: the constraints MAAS clients also send', () => {
  it('not_in_zone and not_in_pool pass over machines in those zones and pools', async () => {
    // ready-1 is in the default zone and pool.
    await s.f.createMachine({ hostname: 'edge-1', zone: 'edge', pool: 'spare' });
    await s.f.createMachine({ hostname: 'core-1', zone: 'core', pool: 'prod' });
    expect(await allocate({ not_in_zone: ['default', 'core'] })).toBe('edge-1');
    expect(await allocate({ not_in_pool: ['default'] })).toBe('core-1');
    expect(await allocate({ not_in_zone: ['default'], not_in_pool: ['default'] })).toBe(409);
    expect(await allocate({ not_in_zone: ['edge', 'core'] })).toBe('ready-1');
  });

  it('system_id matches the id only, not the hostname; with name both must match', async () => {
    const other = await s.f.createMachine({ hostname: 'other-1' });
    expect(await allocate({ system_id: 'other-1' })).toBe(409);
    expect(await allocate({ system_id: other.id, name: 'ready-1' })).toBe(409);
    expect(await allocate({ system_id: other.id, name: 'other-1' })).toBe('other-1');
    expect(await allocate({ system_id: s.ready.id })).toBe('ready-1');
  });

  it('refuses malformed constraints with 400 and changes nothing', async () => {
    const before = await snapshotStore(s.f.store);
    for (const bad of [{ not_in_zone: 'edge' }, { not_in_pool: [''] }, { system_id: '' }]) {
      const res = await s.call('POST', '/api/v1/machines/allocate', { as: 'bob', json: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await snapshotStore(s.f.store)).toEqual(before);
  });

  it('are in the OpenAPI document', async () => {
    const res = await s.call('GET', '/api/v1/openapi.json');
    const doc = await readJson<{
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>(res);
    expect(Object.keys(doc.components.schemas['AllocateConstraints']?.properties ?? {})).toEqual(
      expect.arrayContaining(['system_id', 'not_in_zone', 'not_in_pool']),
    );
  });
});
