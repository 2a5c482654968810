import type { Database } from 'better-sqlite3';

/**
 * Schema migrations for `agent.db`, applied in order. `PRAGMA user_version` records how many
 * have run. Append only: never edit a released migration, add a new one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: initial schema.
  `
  CREATE TABLE identity (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    rack_id       TEXT    NOT NULL,
    rack_secret   TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    enrolled_at_ms INTEGER NOT NULL
  );
  CREATE TABLE network_config (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    version       INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
  );
  CREATE TABLE boot_plans (
    machine_id    TEXT    PRIMARY KEY,
    version       INTEGER NOT NULL,
    macs          TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
  );
  CREATE TABLE applied_commands (
    id            TEXT    PRIMARY KEY,
    result        TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL
  );
  CREATE INDEX applied_commands_by_time ON applied_commands (applied_at_ms);
  -- AUTOINCREMENT: seq never reuses a value, even after the newest rows are acked and deleted,
  -- so "everything after seq N" stays meaningful for the whole life of the file.
  CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL CHECK (kind IN ('status', 'lease')),
    body          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
  );
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `db` up to {@link SCHEMA_VERSION}, each migration in its own transaction. A file from
 * a newer agent is refused rather than guessed at: downgrades need an explicit migration.
 */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true });
  if (typeof current !== 'number') throw new Error('agent.db: cannot read user_version');
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `agent.db has schema version ${current}, newer than this agent understands (${SCHEMA_VERSION})`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    const sql = MIGRATIONS[version];
    if (sql === undefined) throw new Error(`missing migration ${version + 1}`);
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
