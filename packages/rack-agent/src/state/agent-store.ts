import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { AppliedResult } from '../domain/commands.ts';
import type { LeaseEvent, OutboxEntry, OutboxRecord, StatusEvent } from '../domain/events.ts';
import type { RackIdentity } from '../domain/identity.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import type { NetworkConfig } from '../domain/network-config.ts';
import { migrate } from './schema.ts';

/** File name of the agent database inside the data directory. */
export const AGENT_DB_FILE = 'agent.db';

/** A command already applied, with what it produced. */
export interface AppliedCommand {
  readonly id: string;
  readonly result: AppliedResult;
  readonly appliedAtMs: number;
}

/**
 * The agent's durable state (DESIGN.md §4): identity, last network config, boot plans, applied
 * command ids and the event outbox. Every method is synchronous and returns after its write is
 * committed (`synchronous = FULL`), so "appended" means "survives a power cut".
 */
export interface AgentStore {
  /** Absolute path of the database file. */
  readonly path: string;

  /** The rack identity, once enrolled. */
  identity(): RackIdentity | undefined;
  /** Saves the identity; throws if one exists, because a rack enrolls exactly once. */
  saveIdentity(identity: RackIdentity): void;

  /** The last network config pushed, if any. */
  networkConfig(): NetworkConfig | undefined;
  /** Replaces the whole network config. */
  saveNetworkConfig(config: NetworkConfig): void;

  /** The boot plan of one machine. */
  bootPlan(machineId: string): BootPlan | undefined;
  /** The boot plan whose `macs` contain `mac`. */
  bootPlanByMac(mac: MacAddress): BootPlan | undefined;
  /** All boot plans, by machine id. */
  bootPlans(): BootPlan[];
  /** How many boot plans are stored. */
  bootPlanCount(): number;
  /** Saves a plan unless a newer version is stored (then `'stale'`; equal versions replace). */
  saveBootPlan(plan: BootPlan): 'saved' | 'stale';
  /** Removes a plan; returns whether one existed. */
  removeBootPlan(machineId: string): boolean;

  /** The stored result of a command already applied. */
  appliedCommand(id: string): AppliedCommand | undefined;
  /** Records that a command was applied; a second record for the same id is ignored. */
  recordAppliedCommand(id: string, result: AppliedResult): void;
  /** Forgets applied commands older than `olderThanMs` (epoch ms); returns how many. */
  pruneAppliedCommands(olderThanMs: number): number;

  /** Appends an event; a duplicate id is ignored (returns `undefined`), else returns its seq. */
  appendOutbox(entry: OutboxEntry): number | undefined;
  /** Up to `limit` entries with seq greater than `afterSeq`, oldest first. */
  outboxAfter(afterSeq: number, limit: number): OutboxRecord[];
  /** Deletes acknowledged events; unknown ids are ignored. Returns how many were deleted. */
  ackOutbox(ids: readonly string[]): number;
  /** Events waiting for an acknowledgement. */
  outboxDepth(): number;

  /** Runs `fn` in one transaction (nested calls join it). */
  transaction<T>(fn: () => T): T;
  /** Closes the database; later calls throw. Idempotent. */
  close(): void;
}

/** Where and with what the store opens. */
export interface AgentStoreOptions {
  readonly dataDir: string;
  readonly clock: Clock;
}

/**
 * Opens (creating if needed) `DATA/agent.db`. The directory is created with mode 0700 and the
 * file forced to 0600 because it holds the rack secret; SQLite gives the `-wal`/`-shm` side
 * files the database file's permissions. Throws if the file is unreadable or from a newer agent.
 */
export function openAgentStore(options: AgentStoreOptions): AgentStore {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const path = join(options.dataDir, AGENT_DB_FILE);
  // Create the file ourselves so it never exists, even briefly, with the umask's mode.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);

  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk when it returns; the outbox promise depends on it.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (error: unknown) {
    db.close();
    throw error;
  }
  return createStore(db, path, options.clock);
}

interface IdentityRow {
  rack_id: string;
  rack_secret: string;
  name: string;
}
interface BodyRow {
  body: string;
}
interface OutboxRow {
  seq: number;
  kind: string;
  body: string;
}
interface AppliedRow {
  id: string;
  result: string;
  applied_at_ms: number;
}

function createStore(db: Database.Database, path: string, clock: Clock): AgentStore {
  const statements = {
    identity: db.prepare<[], IdentityRow>(
      'SELECT rack_id, rack_secret, name FROM identity WHERE singleton = 1',
    ),
    insertIdentity: db.prepare(
      'INSERT INTO identity (singleton, rack_id, rack_secret, name, enrolled_at_ms) VALUES (1, ?, ?, ?, ?)',
    ),
    networkConfig: db.prepare<[], BodyRow>('SELECT body FROM network_config WHERE singleton = 1'),
    upsertNetworkConfig: db.prepare(
      `INSERT INTO network_config (singleton, version, body, updated_at_ms) VALUES (1, ?, ?, ?)
       ON CONFLICT (singleton) DO UPDATE SET
         version = excluded.version, body = excluded.body, updated_at_ms = excluded.updated_at_ms`,
    ),
    bootPlan: db.prepare<[string], BodyRow>('SELECT body FROM boot_plans WHERE machine_id = ?'),
    bootPlanByMac: db.prepare<[string], BodyRow>(
      `SELECT boot_plans.body FROM boot_plans, json_each(boot_plans.macs)
       WHERE json_each.value = ? ORDER BY boot_plans.updated_at_ms DESC LIMIT 1`,
    ),
    bootPlans: db.prepare<[], BodyRow>('SELECT body FROM boot_plans ORDER BY machine_id'),
    bootPlanCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM boot_plans'),
    // The WHERE on the update is the version rule: an older plan changes nothing.
    upsertBootPlan: db.prepare(
      `INSERT INTO boot_plans (machine_id, version, macs, body, updated_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (machine_id) DO UPDATE SET
         version = excluded.version, macs = excluded.macs, body = excluded.body,
         updated_at_ms = excluded.updated_at_ms
       WHERE excluded.version >= boot_plans.version`,
    ),
    removeBootPlan: db.prepare('DELETE FROM boot_plans WHERE machine_id = ?'),
    appliedCommand: db.prepare<[string], AppliedRow>(
      'SELECT id, result, applied_at_ms FROM applied_commands WHERE id = ?',
    ),
    insertApplied: db.prepare(
      'INSERT OR IGNORE INTO applied_commands (id, result, applied_at_ms) VALUES (?, ?, ?)',
    ),
    pruneApplied: db.prepare('DELETE FROM applied_commands WHERE applied_at_ms < ?'),
    appendOutbox: db.prepare(
      'INSERT OR IGNORE INTO outbox (id, kind, body, created_at_ms) VALUES (?, ?, ?, ?)',
    ),
    outboxAfter: db.prepare<[number, number], OutboxRow>(
      'SELECT seq, kind, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    ackOutbox: db.prepare('DELETE FROM outbox WHERE id = ?'),
    outboxDepth: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox'),
  };

  const ackMany = db.transaction((ids: readonly string[]): number => {
    let deleted = 0;
    for (const id of ids) deleted += statements.ackOutbox.run(id).changes;
    return deleted;
  });

  return {
    path,
    identity() {
      const row = statements.identity.get();
      return row === undefined
        ? undefined
        : { rackId: row.rack_id, rackSecret: row.rack_secret, name: row.name };
    },
    saveIdentity(identity) {
      statements.insertIdentity.run(
        identity.rackId,
        identity.rackSecret,
        identity.name,
        clock.now(),
      );
    },
    networkConfig() {
      const row = statements.networkConfig.get();
      return row === undefined ? undefined : (readJson(row.body) as NetworkConfig);
    },
    saveNetworkConfig(config) {
      statements.upsertNetworkConfig.run(config.version, JSON.stringify(config), clock.now());
    },
    bootPlan(machineId) {
      const row = statements.bootPlan.get(machineId);
      return row === undefined ? undefined : (readJson(row.body) as BootPlan);
    },
    bootPlanByMac(mac) {
      const row = statements.bootPlanByMac.get(mac);
      return row === undefined ? undefined : (readJson(row.body) as BootPlan);
    },
    bootPlans() {
      return statements.bootPlans.all().map((row) => readJson(row.body) as BootPlan);
    },
    bootPlanCount() {
      return statements.bootPlanCount.get()?.n ?? 0;
    },
    saveBootPlan(plan) {
      const { changes } = statements.upsertBootPlan.run(
        plan.machineId,
        plan.version,
        JSON.stringify(plan.macs),
        JSON.stringify(plan),
        clock.now(),
      );
      return changes > 0 ? 'saved' : 'stale';
    },
    removeBootPlan(machineId) {
      return statements.removeBootPlan.run(machineId).changes > 0;
    },
    appliedCommand(id) {
      const row = statements.appliedCommand.get(id);
      return row === undefined
        ? undefined
        : {
            id: row.id,
            result: readJson(row.result) as AppliedResult,
            appliedAtMs: row.applied_at_ms,
          };
    },
    recordAppliedCommand(id, result) {
      statements.insertApplied.run(id, JSON.stringify(result), clock.now());
    },
    pruneAppliedCommands(olderThanMs) {
      return statements.pruneApplied.run(olderThanMs).changes;
    },
    appendOutbox(entry) {
      const { changes, lastInsertRowid } = statements.appendOutbox.run(
        entry.event.id,
        entry.kind,
        JSON.stringify(entry.event),
        clock.now(),
      );
      return changes > 0 ? Number(lastInsertRowid) : undefined;
    },
    outboxAfter(afterSeq, limit) {
      return statements.outboxAfter.all(afterSeq, limit).map(toOutboxRecord);
    },
    ackOutbox(ids) {
      return ids.length === 0 ? 0 : ackMany(ids);
    },
    outboxDepth() {
      return statements.outboxDepth.get()?.n ?? 0;
    },
    transaction(fn) {
      return db.transaction(fn)();
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function toOutboxRecord(row: OutboxRow): OutboxRecord {
  switch (row.kind) {
    case 'status':
      return { seq: row.seq, kind: 'status', event: readJson(row.body) as StatusEvent };
    case 'lease':
      return { seq: row.seq, kind: 'lease', event: readJson(row.body) as LeaseEvent };
    default:
      // The CHECK constraint makes this unreachable unless the file was edited by hand.
      throw new Error(`agent.db: outbox row ${row.seq} has unknown kind "${row.kind}"`);
  }
}

/**
 * Reads a JSON column this store wrote itself through the typed methods above. The schema
 * version guards the shape, so callers cast the object to the type they wrote: the one place
 * we trust the file. A non-object means corruption and throws.
 */
function readJson(text: string): object {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) {
    throw new Error('agent.db: corrupt JSON column');
  }
  return value;
}
