import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import { createReadyMachine, createUser, startSite, type Site } from './harness/scenario.ts';

describe('allocation under contention', () => {
  let site: Site;
  beforeAll(async () => {
    site = await startSite();
  });
  afterAll(async () => {
    await site.cleanup();
  });

  it('gives 500 ready machines to 500 of 1,000 concurrent requests, each machine once', async () => {
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => createReadyMachine(site, 1000 + i + j)),
      );
    }
    const keys = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((name) => createUser(site, name)));
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        api<MachineJson>(
          site.controller.url,
          keys[i % keys.length],
          'POST',
          '/api/v1/machines/allocate',
          {},
        ),
      ),
    );
    const won = replies.filter((r) => r.status === 200);
    const lost = replies.filter((r) => r.status === 409);
    expect(won).toHaveLength(500);
    expect(lost).toHaveLength(500);
    expect(new Set(won.map((r) => r.body.id)).size).toBe(500);
    for (const r of lost) expect(r.headers.get('content-type')).toBe('application/problem+json');

    const all = await api<MachineJson[]>(
      site.controller.url,
      site.controller.adminKey,
      'GET',
      '/api/v1/machines?limit=10000',
    );
    expect(all.body.filter((m) => m.status === 'allocated')).toHaveLength(500);
    // Each machine's owner is the user whose request won it.
    const ownerById = new Map(all.body.map((m) => [m.id, m.owner]));
    for (const r of won) expect(ownerById.get(r.body.id)).toBe(r.body.owner);
  });
});
