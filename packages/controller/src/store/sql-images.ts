/**
 * Boot resources in SQL (part of `SqlStore`). One resource per `os/release/arch`, enforced by
 * a unique constraint.
 */
import type { Kysely, Selectable } from 'kysely';
import type { BootResource } from '../domain/image/boot-resource.ts';
import type { Database } from './schema.ts';

function fromRow(row: Selectable<Database['boot_resources']>): BootResource {
  return {
    id: row.id,
    os: row.os,
    release: row.release,
    arch: row.arch,
    files: JSON.parse(row.files) as BootResource['files'],
    kernelParams: row.kernel_params,
    // PostgreSQL's driver returns bigint columns as strings.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion
    createdAtMs: Number(row.created_at),
  };
}

/** `Store.insertBootResource`. */
export async function insertBootResource(db: Kysely<Database>, r: BootResource): Promise<void> {
  await db
    .insertInto('boot_resources')
    .values({
      id: r.id,
      os: r.os,
      release: r.release,
      arch: r.arch,
      files: JSON.stringify(r.files),
      kernel_params: r.kernelParams,
      created_at: r.createdAtMs,
    })
    .execute();
}

/** `Store.findBootResource`. */
export async function findBootResource(
  db: Kysely<Database>,
  os: string,
  release: string,
  arch: string,
): Promise<BootResource | undefined> {
  const row = await db
    .selectFrom('boot_resources')
    .selectAll()
    .where('os', '=', os)
    .where('release', '=', release)
    .where('arch', '=', arch)
    .executeTakeFirst();
  return row === undefined ? undefined : fromRow(row);
}

/** `Store.getBootResource`. */
export async function getBootResource(
  db: Kysely<Database>,
  id: string,
): Promise<BootResource | undefined> {
  const row = await db
    .selectFrom('boot_resources')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : fromRow(row);
}

/** `Store.listBootResources`. */
export async function listBootResources(db: Kysely<Database>): Promise<BootResource[]> {
  const rows = await db
    .selectFrom('boot_resources')
    .selectAll()
    .orderBy('os')
    .orderBy('release')
    .orderBy('arch')
    .execute();
  return rows.map(fromRow);
}

/** `Store.deleteBootResource`. */
export async function deleteBootResource(db: Kysely<Database>, id: string): Promise<boolean> {
  const r = await db.deleteFrom('boot_resources').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}
