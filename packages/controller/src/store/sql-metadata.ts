/* eslint-disable @typescript-eslint/no-unnecessary-type-conversion --
   Number() stays on integer columns: PostgreSQL's driver returns bigint columns as strings. */
/**
 * Users' SSH keys, machines' metadata tokens and the hardware commissioning found, in SQL (part
 * of `SqlStore`).
 */
import type { Kysely, Selectable } from 'kysely';
import type { MachineHardware } from '../domain/metadata/hardware.ts';
import type { MetadataTokenRecord } from '../domain/metadata/token.ts';
import type { SshKey } from '../domain/ssh-key.ts';
import type { Database } from './schema.ts';

function sshKeyFromRow(row: Selectable<Database['ssh_keys']>): SshKey {
  return {
    id: row.id,
    userId: row.user_id,
    key: row.key,
    fingerprint: row.fingerprint,
    comment: row.comment,
    createdAtMs: Number(row.created_at),
  };
}

/** `Store.insertSshKey`: false when the user already has a key with this fingerprint. */
export async function insertSshKey(db: Kysely<Database>, key: SshKey): Promise<boolean> {
  const r = await db
    .insertInto('ssh_keys')
    .values({
      id: key.id,
      user_id: key.userId,
      key: key.key,
      fingerprint: key.fingerprint,
      comment: key.comment,
      created_at: key.createdAtMs,
    })
    .onConflict((oc) => oc.columns(['user_id', 'fingerprint']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** `Store.listSshKeys`: oldest first. */
export async function listSshKeys(db: Kysely<Database>, userId: string): Promise<SshKey[]> {
  const rows = await db
    .selectFrom('ssh_keys')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(sshKeyFromRow);
}

/** `Store.deleteSshKey`. */
export async function deleteSshKey(
  db: Kysely<Database>,
  userId: string,
  id: string,
): Promise<SshKey | undefined> {
  const row = await db
    .deleteFrom('ssh_keys')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? undefined : sshKeyFromRow(row);
}

/** `Store.putMetadataToken`: replaces the machine's token. */
export async function putMetadataToken(
  db: Kysely<Database>,
  token: MetadataTokenRecord,
): Promise<void> {
  const values = {
    consumer_key: token.consumerKey,
    token_key: token.tokenKey,
    secret_hash: token.secretHash,
    issued_at: token.issuedAtMs,
  };
  await db
    .insertInto('metadata_tokens')
    .values({ machine_id: token.machineId, ...values })
    .onConflict((oc) => oc.column('machine_id').doUpdateSet(values))
    .execute();
}

/** `Store.getMetadataToken`: by token key. */
export async function getMetadataToken(
  db: Kysely<Database>,
  tokenKey: string,
): Promise<MetadataTokenRecord | undefined> {
  const row = await db
    .selectFrom('metadata_tokens')
    .selectAll()
    .where('token_key', '=', tokenKey)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : {
        machineId: row.machine_id,
        consumerKey: row.consumer_key,
        tokenKey: row.token_key,
        secretHash: row.secret_hash,
        issuedAtMs: Number(row.issued_at),
      };
}

/** `Store.deleteMetadataToken`. */
export async function deleteMetadataToken(
  db: Kysely<Database>,
  machineId: string,
): Promise<boolean> {
  const r = await db
    .deleteFrom('metadata_tokens')
    .where('machine_id', '=', machineId)
    .executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

/** `Store.putMachineHardware`: replaces what was recorded before. */
export async function putMachineHardware(
  db: Kysely<Database>,
  hardware: MachineHardware,
): Promise<void> {
  const values = {
    disks: JSON.stringify(hardware.disks),
    nics: JSON.stringify(hardware.nics),
    recorded_at: hardware.recordedAtMs,
  };
  await db
    .insertInto('machine_hardware')
    .values({ machine_id: hardware.machineId, ...values })
    .onConflict((oc) => oc.column('machine_id').doUpdateSet(values))
    .execute();
}

/** `Store.getMachineHardware`. */
export async function getMachineHardware(
  db: Kysely<Database>,
  machineId: string,
): Promise<MachineHardware | undefined> {
  const row = await db
    .selectFrom('machine_hardware')
    .selectAll()
    .where('machine_id', '=', machineId)
    .executeTakeFirst();
  return row === undefined ? undefined : hardwareFromRow(row);
}

/** `Store.listMachineHardware`. */
export async function listMachineHardware(
  db: Kysely<Database>,
  machineIds: readonly string[],
): Promise<MachineHardware[]> {
  if (machineIds.length === 0) return [];
  const rows = await db
    .selectFrom('machine_hardware')
    .selectAll()
    .where('machine_id', 'in', [...machineIds])
    .orderBy('machine_id')
    .execute();
  return rows.map(hardwareFromRow);
}

function hardwareFromRow(row: Selectable<Database['machine_hardware']>): MachineHardware {
  return {
    machineId: row.machine_id,
    disks: JSON.parse(row.disks) as MachineHardware['disks'],
    nics: JSON.parse(row.nics) as MachineHardware['nics'],
    recordedAtMs: Number(row.recorded_at),
  };
}
