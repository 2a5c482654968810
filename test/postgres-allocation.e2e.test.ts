import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import { startControllers, type Controllers } from './harness/cluster-controllers.ts';
import { postgresAvailable, usePostgres } from './harness/postgres.ts';
import { tempDir } from './harness/processes.ts';

describe.skipIf(!postgresAvailable)('two controllers on one PostgreSQL', () => {
  const postgres = usePostgres();
  const work = tempDir('controllers');
  let cluster: Controllers | undefined;

  beforeAll(async () => {
    const url = await postgres().createDatabase();
    // The second controller finds the admin already made by the first: it gets the same key
    // file (it would otherwise have none to print), and secrets.key (BMC passwords and the rack
    // CA key). It names the database with `--database`, `--db` by another name.
    cluster = await startControllers({
      databaseUrl: url,
      controllers: 2,
      workDir: work.path,
      controllerArgs: (i) => (i === 1 ? ['--database', url] : []),
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    work.cleanup();
  });

  it('1,000 concurrent allocations split across both: 500 machines each once, 500 × 409', async () => {
    const [a, b] = cluster?.controllers ?? [];
    if (a === undefined || b === undefined) throw new Error('controllers did not start');
    // Machines made through either controller are visible through the other.
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const n = i + j;
          const via = n % 2 === 0 ? a : b;
          return api<MachineJson>(via.url, via.adminKey, 'POST', '/api/v1/machines', {
            hostname: `node-${String(n)}`,
            arch: 'amd64',
            macs: [
              `52:54:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`,
            ],
            cpu_count: 8,
            memory_mib: 16384,
            storage_gib: 500,
            commission: false,
            power: { type: 'manual', params: {} },
          });
        }),
      );
      for (const r of batch) expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const keys: string[] = [];
    for (const name of ['u1', 'u2', 'u3', 'u4']) {
      const r = await api<{ api_key: string }>(a.url, a.adminKey, 'POST', '/api/v1/users', {
        username: name,
        role: 'user',
      });
      expect(r.status).toBe(201);
      keys.push(r.body.api_key);
    }
    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        api<MachineJson>(
          (i % 2 === 0 ? a : b).url,
          keys[i % keys.length],
          'POST',
          '/api/v1/machines/allocate',
          {},
        ),
      ),
    );
    const elapsedMs = Date.now() - started;
    const won = replies.filter((r) => r.status === 200);
    const lost = replies.filter((r) => r.status === 409);
    process.stdout.write(
      `two controllers on PostgreSQL: 1000 allocations in ${String(elapsedMs)} ms ` +
        `(${String(won.length)} × 200, ${String(lost.length)} × 409)\n`,
    );
    const others = replies.filter((r) => r.status !== 200 && r.status !== 409);
    expect(others.map((r) => `${String(r.status)} ${JSON.stringify(r.body)}`).slice(0, 3)).toEqual(
      [],
    );
    expect(won).toHaveLength(500);
    expect(lost).toHaveLength(500);
    expect(new Set(won.map((r) => r.body.id)).size).toBe(500);
    // Both controllers handed out machines.
    const wonVia = (parity: number): number =>
      replies.filter((r, i) => r.status === 200 && i % 2 === parity).length;
    expect(wonVia(0)).toBeGreaterThan(0);
    expect(wonVia(1)).toBeGreaterThan(0);

    const all = await api<MachineJson[]>(b.url, b.adminKey, 'GET', '/api/v1/machines?limit=10000');
    expect(all.body.filter((m) => m.status === 'allocated')).toHaveLength(500);
    const ownerById = new Map(all.body.map((m) => [m.id, m.owner]));
    for (const r of won) expect(ownerById.get(r.body.id)).toBe(r.body.owner);
    // Each allocation left exactly one `allocate` event in the shared log, in seq order.
    const events = await api<{ seq: number; step: string; machine_id: string | null }[]>(
      a.url,
      a.adminKey,
      'GET',
      '/api/v1/events?limit=10000',
    );
    const allocations = events.body.filter((e) => e.step === 'allocate');
    expect(allocations).toHaveLength(500);
    expect(new Set(allocations.map((e) => e.machine_id)).size).toBe(500);
  });
});
