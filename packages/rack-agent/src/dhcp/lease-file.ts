/**
 * Durable leases in their own SQLite file (`DATA/dhcp-leases.db`), separate from `agent.db` so
 * the DHCP hot path never contends with the outbox and its schema evolves on its own.
 *
 * Durability: WAL with `synchronous = NORMAL`. A committed lease survives an agent crash or
 * restart (the WAL is in the OS); a power cut may lose the last few commits. That matches Kea's
 * memfile backend (append without fsync) and keeps one DORA under a millisecond; clients that
 * lose a lease that way re-request it (INIT-REBOOT) and get it again while it is free.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MacAddress } from '../domain/mac-address.ts';
import { parseMacAddress } from '../domain/mac-address.ts';
import { LEASE_STATES, type Lease, type LeasePersistence, type LeaseState } from './leases.ts';

/** File name of the lease database inside the agent's data directory. */
export const LEASE_DB_FILE = 'dhcp-leases.db';

interface LeaseRow {
  ip: string;
  mac: string;
  subnet_cidr: string;
  state: string;
  expires_at_ms: number;
  hostname: string;
  client_arch: number;
  updated_at_ms: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS leases (
    ip            TEXT    PRIMARY KEY,
    mac           TEXT    NOT NULL,
    subnet_cidr   TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    hostname      TEXT    NOT NULL,
    client_arch   INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * Opens (creating if needed) the lease file in `dataDir` with mode 0600. Throws if the file
 * cannot be opened: a DHCP server without its lease memory could hand out addresses in use.
 */
export function openLeaseFile(dataDir: string): LeasePersistence {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LEASE_DB_FILE);
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (error: unknown) {
    db.close();
    throw error;
  }
  const upsert = db.prepare(
    `INSERT INTO leases (ip, mac, subnet_cidr, state, expires_at_ms, hostname, client_arch, updated_at_ms)
     VALUES (@ip, @mac, @subnet_cidr, @state, @expires_at_ms, @hostname, @client_arch, @updated_at_ms)
     ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, subnet_cidr = excluded.subnet_cidr,
       state = excluded.state, expires_at_ms = excluded.expires_at_ms,
       hostname = excluded.hostname, client_arch = excluded.client_arch,
       updated_at_ms = excluded.updated_at_ms`,
  );
  const selectAll = db.prepare<[], LeaseRow>('SELECT * FROM leases');
  let depth = 0;
  return {
    load: () => selectAll.all().flatMap((row) => toLease(row) ?? []),
    save(lease) {
      upsert.run({
        ip: lease.ip,
        mac: lease.mac,
        subnet_cidr: lease.subnetCidr,
        state: lease.state,
        expires_at_ms: lease.expiresAtMs,
        hostname: lease.hostname,
        client_arch: lease.clientArch,
        updated_at_ms: lease.updatedAtMs,
      });
    },
    batch(fn) {
      if (depth > 0) {
        fn();
        return;
      }
      depth++;
      try {
        db.transaction(fn)();
      } finally {
        depth--;
      }
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function toLease(row: LeaseRow): Lease | undefined {
  const state = LEASE_STATES.find((s): s is LeaseState => s === row.state);
  if (state === undefined) return undefined;
  const mac: MacAddress | '' = row.mac === '' ? '' : (parseMacAddress(row.mac) ?? '');
  return {
    ip: row.ip,
    mac,
    subnetCidr: row.subnet_cidr,
    state,
    expiresAtMs: row.expires_at_ms,
    hostname: row.hostname,
    clientArch: row.client_arch,
    updatedAtMs: row.updated_at_ms,
  };
}
