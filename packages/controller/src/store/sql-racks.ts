/**
 * Racks and their command queue in SQL (part of `SqlStore`).
 */
import type { Kysely } from 'kysely';
import type { Rack, RackCommand, RackCommandBody } from '../domain/rack.ts';
import type { Store } from '../app/ports.ts';
import type { Database } from './schema.ts';
import { commandFromRow, rackFromRow } from './rows.ts';

/** `Store.insertRack`. */
export async function insertRack(db: Kysely<Database>, rack: Rack): Promise<void> {
  await db
    .insertInto('racks')
    .values({
      id: rack.id,
      name: rack.name,
      secret_hash: rack.secretHash,
      hostname: rack.hostname,
      version: rack.version,
      interfaces: JSON.stringify(rack.interfaces),
      created_at: rack.createdAtMs,
      last_seen_at: rack.lastSeenAtMs,
      connected: rack.connected ? 1 : 0,
      health: rack.health === null ? null : JSON.stringify(rack.health),
    })
    .execute();
}

/** `Store.getRack`. */
export async function getRack(db: Kysely<Database>, id: string): Promise<Rack | undefined> {
  const row = await db.selectFrom('racks').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : rackFromRow(row);
}

/** `Store.listRacks`. */
export async function listRacks(db: Kysely<Database>): Promise<Rack[]> {
  return (await db.selectFrom('racks').selectAll().orderBy('name').execute()).map(rackFromRow);
}

/** `Store.updateRackSeen`. */
export async function updateRackSeen(
  db: Kysely<Database>,
  id: string,
  update: Parameters<Store['updateRackSeen']>[1],
): Promise<void> {
  await db
    .updateTable('racks')
    .set({
      last_seen_at: update.lastSeenAtMs,
      connected: update.connected ? 1 : 0,
      ...(update.health === undefined ? {} : { health: JSON.stringify(update.health) }),
      ...(update.hostname === undefined ? {} : { hostname: update.hostname }),
      ...(update.version === undefined ? {} : { version: update.version }),
      ...(update.interfaces === undefined ? {} : { interfaces: JSON.stringify(update.interfaces) }),
    })
    .where('id', '=', id)
    .execute();
}

/** `Store.insertRackCommand`. */
export async function insertRackCommand(
  db: Kysely<Database>,
  command: Parameters<Store['insertRackCommand']>[0],
): Promise<RackCommand> {
  const row = await db
    .insertInto('rack_commands')
    .values({
      id: command.id,
      rack_id: command.rackId,
      machine_id: command.machineId,
      kind: command.body.kind,
      body: JSON.stringify(command.body),
      created_at: command.createdAtMs,
      acked_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return commandFromRow(row);
}

/** `Store.pendingRackCommands`. */
export async function pendingRackCommands(
  db: Kysely<Database>,
  rackId: string,
): Promise<RackCommand[]> {
  const rows = await db
    .selectFrom('rack_commands')
    .selectAll()
    .where('rack_id', '=', rackId)
    .where('acked_at', 'is', null)
    .orderBy('seq')
    .execute();
  return rows.map(commandFromRow);
}

/** `Store.ackRackCommands`. */
export async function ackRackCommands(
  db: Kysely<Database>,
  rackId: string,
  ids: readonly string[],
  nowMs: number,
): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('rack_commands')
    .set({ acked_at: nowMs })
    .where('rack_id', '=', rackId)
    .where('id', 'in', [...ids])
    .where('acked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** `Store.dropPendingRackCommands`. */
export async function dropPendingRackCommands(
  db: Kysely<Database>,
  scope: Parameters<Store['dropPendingRackCommands']>[0],
  kind: RackCommandBody['kind'],
  nowMs: number,
): Promise<number> {
  // A superseded command is marked acknowledged (by nobody) rather than deleted, so the log of
  // what the controller asked for stays complete.
  let q = db
    .updateTable('rack_commands')
    .set({ acked_at: nowMs })
    .where('kind', '=', kind)
    .where('acked_at', 'is', null);
  q =
    'machineId' in scope
      ? q.where('machine_id', '=', scope.machineId)
      : q.where('rack_id', '=', scope.rackId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** `Store.setRackNetworkConfigVersion`. */
export async function setRackNetworkConfigVersion(
  db: Kysely<Database>,
  rackId: string,
  version: number,
): Promise<void> {
  await db
    .updateTable('racks')
    .set({ network_config_version: version })
    .where('id', '=', rackId)
    .execute();
}
