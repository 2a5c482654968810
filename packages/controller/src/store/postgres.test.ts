import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../domain/event.ts';
import type { Machine } from '../domain/machine/machine.ts';
import { newEvent, newMachine, newUser } from '../testing/index.ts';
import { postgresTestsEnabled, usePostgresServer } from '../testing/use-postgres-server.ts';
import { openPostgresStore } from './postgres.ts';
import { describeStoreContracts } from './store-contracts.ts';
import { T0 } from './store-contract-fixtures.ts';

describe.skipIf(!postgresTestsEnabled())('PostgreSQL store', () => {
  const server = usePostgresServer();

  // One pool of 8 connections, so concurrent calls really run at once.
  describeStoreContracts('postgres', () => server.openStore());

  it('migrates once when several controllers start on an empty database at the same time', async () => {
    const url = await server.server().createDatabase();
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openPostgresStore(url, { maxConnections: 2 })),
    );
    try {
      const [first, ...others] = stores;
      if (first === undefined) throw new Error('no store');
      await first.insertMachine(newMachine({ id: 'm1' }));
      for (const other of others) expect((await other.getMachine('m1'))?.id).toBe('m1');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>(
          'select name from kysely_migration order by name',
        );
        const names = rows.map((r) => r.name);
        expect(names).toEqual([...new Set(names)]);
        expect(names[0]).toBe('0001_initial');
      } finally {
        await client.end();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('keeps everything across close and reopen; numbers come back as numbers', async () => {
    const url = await server.server().createDatabase();
    const first = await openPostgresStore(url);
    const machine = newMachine({ memoryMib: 2 ** 40, powerSeenAtMs: T0 + 7 });
    await first.insertMachine(machine);
    await first.insertUser(newUser({ username: 'alice' }));
    await first.close();
    const second = await openPostgresStore(url);
    try {
      const again = await second.getMachine(machine.id);
      expect(again?.memoryMib).toBe(2 ** 40);
      expect(again?.createdAtMs).toBe(machine.createdAtMs);
      expect(await second.countMachines()).toBe(1);
      expect(await second.countUsers()).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('two controllers (two pools) allocating 1,000 times over 500 machines: each machine once', async () => {
    const url = await server.server().createDatabase();
    const [a, b] = await Promise.all([
      openPostgresStore(url, { maxConnections: 8 }),
      openPostgresStore(url, { maxConnections: 8 }),
    ]);
    try {
      await a.transaction(async (tx) => {
        for (let i = 0; i < 500; i++) {
          await tx.insertMachine(newMachine({ id: `m${String(i).padStart(4, '0')}` }));
        }
      });
      const results = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          (i % 2 === 0 ? a : b).transaction((tx) =>
            tx.allocateMachine({}, `user-${String(i)}`, T0, 'allocated'),
          ),
        ),
      );
      const won = results.filter((m): m is Machine => m !== undefined);
      expect(won).toHaveLength(500);
      expect(new Set(won.map((m) => m.id)).size).toBe(500);
      const owners = new Map(won.map((m) => [m.id, m.ownerId]));
      for (const m of await b.listMachines({})) expect(m.ownerId).toBe(owners.get(m.id));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('allocating a machine whose row another write holds waits for it instead of answering "no match"', async () => {
    const url = await server.server().createDatabase();
    const store = await openPostgresStore(url, { maxConnections: 2 });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await store.insertMachine(newMachine({ id: 'm1', hostname: 'node-1' }));
      // A power observation (or any other write) on the machine, not yet committed.
      await holder.query('begin');
      await holder.query("update machines set updated_at = updated_at + 1 where id = 'm1'");
      const allocating = store.allocateMachine({ name: 'node-1' }, 'user-1', T0, 'allocated');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await holder.query('commit');
      const got = await allocating;
      expect(got?.id).toBe('m1');
      expect(got?.ownerId).toBe('user-1');
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('a reader following events by seq misses none while two controllers append concurrently', async () => {
    const url = await server.server().createDatabase();
    const [a, b, reader] = await Promise.all([
      openPostgresStore(url, { maxConnections: 6 }),
      openPostgresStore(url, { maxConnections: 6 }),
      openPostgresStore(url, { maxConnections: 1 }),
    ]);
    try {
      const writers = 200;
      const writing = { done: false };
      const seen = new Map<string, number>();
      const follow = (async (): Promise<void> => {
        let after = 0;
        const deadline = Date.now() + 60_000;
        for (;;) {
          const finished = writing.done;
          const page: EventRecord[] = await reader.listEvents({ afterSeq: after, limit: 1000 });
          for (const e of page) seen.set(e.id, e.seq);
          after = page.at(-1)?.seq ?? after;
          if ((finished && page.length === 0) || Date.now() > deadline) return;
        }
      })();
      await Promise.all(
        Array.from({ length: writers }, (_, i) =>
          (i % 2 === 0 ? a : b).transaction(async (tx) => {
            await tx.appendEvents([newEvent({ id: `e${String(i)}` })], T0);
            // Hold the transaction open a little after the append, in varying amounts, so
            // commits would land out of seq order if appends were not ordered.
            await new Promise((resolve) => setTimeout(resolve, (i * 7) % 5));
          }),
        ),
      );
      writing.done = true;
      await follow;
      expect(seen.size).toBe(writers);
    } finally {
      await Promise.all([a.close(), b.close(), reader.close()]);
    }
  });
});
