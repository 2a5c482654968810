/**
 * `pnpm bench:store`: allocation throughput of the store itself on SQLite (WAL file) and on
 * PostgreSQL (a throwaway server from Debian's packages, pool of 10): 1,000 concurrent
 * allocations over 500 ready machines, as single statements and each in its own transaction (as
 * the allocation service runs it). Figures, not assertions; best of three runs per case.
 */
import { join } from 'node:path';
import { openPostgresStore, openSqliteStore, type Store } from '@ingot/controller';
import { newMachine, startPostgresServer } from '@ingot/controller/testing';
import { tempDir } from '../harness/processes.ts';

const MACHINES = 500;
const CALLERS = 1_000;

async function once(store: Store, inTransaction: boolean, round: number): Promise<number> {
  await store.transaction(async (tx) => {
    for (let i = 0; i < MACHINES; i++) {
      await tx.insertMachine(newMachine({ id: `r${String(round)}-${String(i)}` }));
    }
  });
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: CALLERS }, (_, i) =>
      inTransaction
        ? store.transaction((tx) => tx.allocateMachine({}, `u${String(i)}`, 0, 'allocated'))
        : store.allocateMachine({}, `u${String(i)}`, 0, 'allocated'),
    ),
  );
  const ms = performance.now() - started;
  const won = results.filter((m) => m !== undefined);
  if (won.length !== MACHINES || new Set(won.map((m) => m.id)).size !== MACHINES)
    throw new Error(`allocated ${String(won.length)} of ${String(MACHINES)}: the store is broken`);
  return ms;
}

async function bench(name: string, open: () => Promise<Store>): Promise<string[]> {
  const lines: string[] = [];
  for (const inTransaction of [false, true]) {
    const store = await open();
    try {
      const times: number[] = [];
      for (let round = 0; round < 3; round++) times.push(await once(store, inTransaction, round));
      const best = Math.min(...times);
      lines.push(
        `${name.padEnd(18)} ${inTransaction ? 'in transactions' : 'single statements'}: ` +
          `${(CALLERS / (best / 1000)).toFixed(0)} allocations/s (${best.toFixed(0)} ms for ` +
          `${String(CALLERS)} over ${String(MACHINES)})`,
      );
    } finally {
      await store.close();
    }
  }
  return lines;
}

const dir = tempDir('bench-store');
const server = await startPostgresServer();
try {
  let n = 0;
  const lines = [
    ...(await bench('sqlite (WAL file)', () =>
      openSqliteStore(join(dir.path, `ingot-${String((n += 1))}.db`)),
    )),
    ...(await bench('postgres (pool 10)', async () =>
      openPostgresStore(await server.createDatabase()),
    )),
  ];
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  await server.stop();
  dir.cleanup();
}
