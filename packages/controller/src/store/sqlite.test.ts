import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootPlanBody, newEvent, newMachine, newUser } from '../testing/index.ts';
import { openSqliteStore } from './sqlite.ts';
import type { OpenStore } from './store-contract-fixtures.ts';
import { describeStoreContracts } from './store-contracts.ts';

const T0 = Date.UTC(2026, 0, 1);
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ingot-store-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const adapters: Record<string, OpenStore> = {
  'sqlite :memory:': () => openSqliteStore(':memory:'),
  'sqlite file (WAL)': async () => openSqliteStore(join(await tempDir(), 'ingot.db')),
};

for (const [name, open] of Object.entries(adapters)) describeStoreContracts(name, open);

describe('sqlite file store', () => {
  let file: string;

  beforeEach(async () => {
    file = join(await tempDir(), 'ingot.db');
  });

  afterEach(() => undefined);

  it('runs in WAL mode', async () => {
    const store = await openSqliteStore(file);
    await store.close();
    const raw = new Sqlite(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('keeps everything across close and reopen, and migrating again is a no-op', async () => {
    const first = await openSqliteStore(file);
    const machine = newMachine({ tags: ['gpu'], power: { type: 'ipmi', params: { user: 'u' } } });
    const user = newUser({ username: 'alice' });
    await first.insertMachine(machine);
    await first.insertUser(user);
    const [event] = await first.appendEvents([newEvent({ id: 'e1', machineId: machine.id })], T0);
    await first.insertEnrollmentToken('hash', 'system', T0 + 1_000, T0);
    await first.insertRackCommand({
      id: 'c1',
      rackId: 'r1',
      machineId: machine.id,
      body: bootPlanBody(machine.id),
      createdAtMs: T0,
    });
    const allocated = await first.allocateMachine({}, user.id, T0 + 1, 'allocated');
    await first.close();

    const second = await openSqliteStore(file);
    try {
      expect(await second.getMachine(machine.id)).toEqual(allocated);
      expect(await second.getUserByName('alice')).toEqual(user);
      expect(await second.listEvents({})).toEqual([event]);
      expect((await second.pendingRackCommands('r1')).map((c) => c.id)).toEqual(['c1']);
      // Events keep their seq order across the reopen.
      const [next] = await second.appendEvents([newEvent({ id: 'e2' })], T0);
      expect(next?.seq).toBeGreaterThan(event?.seq ?? Infinity);
      expect(await second.consumeEnrollmentToken('hash', T0 + 1)).toBe(true);
    } finally {
      await second.close();
    }
    const third = await openSqliteStore(file);
    try {
      expect(await third.consumeEnrollmentToken('hash', T0 + 2)).toBe(false);
    } finally {
      await third.close();
    }
  });
});
