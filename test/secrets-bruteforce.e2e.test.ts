/**
 * Brute-force limits are shared by controllers on one PostgreSQL: wrong keys sent to two
 * controller processes count together, the 11th in a minute is 429 on either, the lockout is
 * recorded once, and the right key keeps working on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from './harness/api.ts';
import { startControllers, type Controllers } from './harness/cluster-controllers.ts';
import { postgresAvailable, usePostgres } from './harness/postgres.ts';
import { tempDir } from './harness/processes.ts';

describe.skipIf(!postgresAvailable)('brute-force limits on two controllers, one PostgreSQL', () => {
  const postgres = usePostgres();
  const work = tempDir('controllers');
  let cluster: Controllers | undefined;

  beforeAll(async () => {
    const url = await postgres().createDatabase();
    cluster = await startControllers({ databaseUrl: url, controllers: 2, workDir: work.path });
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    work.cleanup();
  });

  it('counts wrong keys sent to both together: 10 × 401, then 429 on either; one lockout event', async () => {
    const [a, b] = cluster?.controllers ?? [];
    if (a === undefined || b === undefined) throw new Error('controllers did not start');
    const wrong = (i: number): string => `ingot_${'w'.repeat(12)}_${String(i).padStart(43, 'x')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const via = i % 2 === 0 ? a : b;
      statuses.push((await api(via.url, wrong(i), 'GET', '/api/v1/machines')).status);
    }
    expect(statuses).toEqual(Array<number>(10).fill(401));
    const onA = await api(a.url, wrong(10), 'GET', '/api/v1/machines');
    const onB = await api(b.url, wrong(11), 'GET', '/api/v1/machines');
    expect([onA.status, onB.status]).toEqual([429, 429]);
    expect(Number(onB.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const c of [a, b]) {
      expect((await api(c.url, c.adminKey, 'GET', '/api/v1/machines')).status).toBe(200);
    }
    const events = await api<{ step: string; actor: string; data: Record<string, unknown> }[]>(
      b.url,
      b.adminKey,
      'GET',
      '/api/v1/events?kind=audit',
    );
    const lockouts = events.body.filter((e) => e.step === 'auth.lockout');
    expect(lockouts).toHaveLength(2);
    const seen = lockouts.map((e) => [e.actor, e.data['scope'], e.data['credential']].join(' '));
    expect(seen.sort()).toEqual(['system identity api-key', 'system source api-key']);
  });
});
