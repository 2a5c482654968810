/**
 * Allocation latency with 10k and 100k machines stored: a real controller (HTTP API on loopback,
 * SQLite in a temp dir), machines inserted straight into its store beforehand, then allocations
 * through the API one at a time (latency) and 32 at a time (throughput).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '@ingot/common';
import { openSqliteStore, startController, type NewMachine } from '@ingot/controller';
import { tempDir } from '../harness/processes.ts';
import { percentile, type BenchResult } from './stats.ts';

async function seed(dbFile: string, count: number): Promise<void> {
  const store = await openSqliteStore(dbFile);
  const now = Date.now();
  for (let i = 0; i < count; i += 5000) {
    await store.transaction(async (tx) => {
      for (let j = i; j < Math.min(count, i + 5000); j++) {
        const machine: NewMachine = {
          id: `m${j.toString(36).padStart(6, '0')}`,
          hostname: `node-${j}`,
          status: 'ready',
          arch: j % 10 === 0 ? 'arm64' : 'amd64',
          cpuCount: 4 + (j % 4) * 4,
          memoryMib: 8192 * (1 + (j % 4)),
          storageGib: 500,
          macs: [
            `02:00:${[j >> 24, j >> 16, j >> 8, j].map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':')}`,
          ],
          tags: j % 3 === 0 ? ['ssd'] : ['hdd'],
          zone: `zone-${j % 4}`,
          pool: 'default',
          ownerId: null,
          locked: false,
          rackId: null,
          power: null,
          powerState: 'unknown',
          powerSeenAtMs: null,
          deployment: null,
          statusMessage: 'seeded',
          statusDeadlineMs: null,
          lastStep: null,
          bootPurpose: null,
          createdAtMs: now,
        };
        await tx.insertMachine(machine);
      }
    });
  }
  await store.close();
}

/** Runs the allocation benchmark for one fleet size. */
export async function benchAllocation(machines: number): Promise<BenchResult[]> {
  const dir = tempDir('bench-alloc');
  try {
    const seedStart = performance.now();
    await seed(join(dir.path, 'ingot.db'), machines);
    const seedMs = performance.now() - seedStart;
    const controller = await startController(
      {
        dataDir: dir.path,
        http: { host: '127.0.0.1', port: 0 },
        grpc: { host: '127.0.0.1', port: 0 },
      },
      silentLogger,
    );
    try {
      const key = readFileSync(controller.adminKeyFile, 'utf8').trim();
      const allocate = async (body: unknown): Promise<number> => {
        const t = performance.now();
        const res = await fetch(`${controller.httpUrl}/api/v1/machines/allocate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`allocate answered ${res.status}`);
        return performance.now() - t;
      };
      const results: BenchResult[] = [];
      for (const [name, body] of [
        ['any', {}],
        [
          'constrained',
          {
            arch: 'amd64',
            cpu_count: 8,
            mem: 16384,
            tags: ['ssd'],
            not_tags: ['gpu'],
            zone: 'zone-1',
          },
        ],
      ] as const) {
        for (let i = 0; i < 20; i++) await allocate(body); // warm-up
        const samples: number[] = [];
        for (let i = 0; i < 300; i++) samples.push(await allocate(body));
        const t = performance.now();
        const batch = 300;
        for (let i = 0; i < batch; i += 32) {
          await Promise.all(Array.from({ length: Math.min(32, batch - i) }, () => allocate(body)));
        }
        const perSecond = batch / ((performance.now() - t) / 1000);
        results.push({
          name: `allocate ${name} @ ${machines.toLocaleString('en')} machines`,
          figures: {
            p50_ms: percentile(samples, 50),
            p99_ms: percentile(samples, 99),
            'allocations/s (32 concurrent)': perSecond,
            'seed s': seedMs / 1000,
          },
        });
      }
      return results;
    } finally {
      await controller.close();
    }
  } finally {
    dir.cleanup();
  }
}
