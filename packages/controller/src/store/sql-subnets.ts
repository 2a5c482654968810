/**
 * Subnets and IP reservations in SQL (part of `SqlStore`). Uniqueness that matters — one subnet
 * per CIDR, one reservation per MAC and per address — is enforced by the schema, not by reads.
 */
import type { Kysely } from 'kysely';
import type { Reservation, Subnet } from '../domain/network/subnet.ts';
import type { Database } from './schema.ts';
import { reservationFromRow, subnetFromRow, subnetToRow } from './rows.ts';

/** `Store.insertSubnet`. */
export async function insertSubnet(db: Kysely<Database>, subnet: Subnet): Promise<void> {
  await db.insertInto('subnets').values(subnetToRow(subnet)).execute();
}

/** `Store.getSubnet`. */
export async function getSubnet(db: Kysely<Database>, id: string): Promise<Subnet | undefined> {
  const row = await db.selectFrom('subnets').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : subnetFromRow(row);
}

/** `Store.listSubnets`. */
export async function listSubnets(db: Kysely<Database>): Promise<Subnet[]> {
  return (await db.selectFrom('subnets').selectAll().orderBy('cidr').execute()).map(subnetFromRow);
}

/** `Store.updateSubnet`. */
export async function updateSubnet(db: Kysely<Database>, subnet: Subnet): Promise<boolean> {
  const row = subnetToRow(subnet);
  const r = await db
    .updateTable('subnets')
    .set({
      cidr: row.cidr,
      name: row.name,
      gateway: row.gateway,
      dns_servers: row.dns_servers,
      dynamic_ranges: row.dynamic_ranges,
      lease_seconds: row.lease_seconds,
      domain: row.domain,
      dhcp_mode: row.dhcp_mode,
      rack_id: row.rack_id,
      interface: row.interface,
    })
    .where('id', '=', row.id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** `Store.deleteSubnet` (its reservations go with it). */
export async function deleteSubnet(db: Kysely<Database>, id: string): Promise<boolean> {
  await db.deleteFrom('ip_reservations').where('subnet_id', '=', id).execute();
  const r = await db.deleteFrom('subnets').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

/** `Store.insertReservation`. */
export async function insertReservation(db: Kysely<Database>, r: Reservation): Promise<void> {
  await db
    .insertInto('ip_reservations')
    .values({
      mac: r.mac,
      ip: r.ip,
      subnet_id: r.subnetId,
      hostname: r.hostname,
      created_at: r.createdAtMs,
    })
    .execute();
}

/** `Store.getReservationByMac` / `getReservationByIp`. */
export async function getReservation(
  db: Kysely<Database>,
  column: 'mac' | 'ip',
  value: string,
): Promise<Reservation | undefined> {
  const row = await db
    .selectFrom('ip_reservations')
    .selectAll()
    .where(column, '=', value)
    .executeTakeFirst();
  return row === undefined ? undefined : reservationFromRow(row);
}

/** `Store.listReservations`. */
export async function listReservations(
  db: Kysely<Database>,
  subnetId?: string,
): Promise<Reservation[]> {
  let q = db.selectFrom('ip_reservations').selectAll();
  if (subnetId !== undefined) q = q.where('subnet_id', '=', subnetId);
  return (await q.orderBy('ip').execute()).map(reservationFromRow);
}

/** `Store.deleteReservation`. */
export async function deleteReservation(db: Kysely<Database>, mac: string): Promise<boolean> {
  const r = await db.deleteFrom('ip_reservations').where('mac', '=', mac).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}
