import { describe, expect, it } from 'vitest';
import { readJson } from '../../testing/index.ts';
import { useMachineApiScenario } from '../../testing/use-machine-api-scenario.ts';
import { maasRequest } from './maas-test-client.ts';

const s = useMachineApiScenario();

interface Handler {
  name: string;
  uri: string;
  path: string;
  params: string[];
  actions: { name: string; method: 'GET' | 'POST'; op: string | null; restful: boolean }[];
}
interface Description {
  resources: { name: string; anon: Handler | null; auth: Handler | null }[];
}

describe('describe/ (what maas login reads)', () => {
  it('answers anonymously with exactly application/json and maascli’s structure', async () => {
    const res = await s.api.request('http://ingot.test:5240/MAAS/api/2.0/describe/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const d = await readJson<Description>(res);
    const machine = d.resources.find((r) => r.name === 'MachineHandler')?.auth;
    expect(machine).toMatchObject({
      uri: 'http://ingot.test:5240/MAAS/api/2.0/machines/{system_id}/',
      params: ['system_id'],
    });
    expect(machine?.actions).toContainEqual(
      expect.objectContaining({ name: 'deploy', method: 'POST', op: 'deploy', restful: false }),
    );
    expect(d.resources.find((r) => r.name === 'VersionHandler')?.anon).not.toBeNull();
  });

  it('every action it describes is served (no 404, no unrecognised op)', async () => {
    const d = await readJson<Description>(await maasRequest(s.api, 'GET', 'describe/'));
    let calls = 0;
    for (const resource of d.resources) {
      for (const action of resource.auth?.actions ?? []) {
        const path = (resource.auth?.path ?? '')
          .replace('/MAAS/api/2.0/', '')
          .replace('{system_id}', s.mine.id);
        const query = action.op === null ? '' : `?op=${action.op}`;
        const res = await maasRequest(s.api, action.method, `${path}${query}`, {
          key: s.f.admin.apiKey,
          form: action.method === 'POST' ? [] : undefined,
        });
        const text = await res.text();
        expect([resource.name, action.name, res.status]).not.toContainEqual(404);
        expect(text).not.toMatch(/Unrecognised signature|Unknown API endpoint/);
        calls++;
      }
    }
    expect(calls).toBeGreaterThan(25);
  });
});
