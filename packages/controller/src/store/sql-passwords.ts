/**
 * Sign-in passwords and session key removal in SQL (part of `SqlStore`). Only hashes are stored.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** `Store.deleteApiKey`. */
export async function deleteApiKey(db: Kysely<Database>, id: string): Promise<boolean> {
  const r = await db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

/** `Store.getPasswordHash`. */
export async function getPasswordHash(
  db: Kysely<Database>,
  userId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('user_passwords')
    .select('hash')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.hash;
}

/** `Store.setPasswordHash`: insert, or replace the user's existing hash. */
export async function setPasswordHash(
  db: Kysely<Database>,
  userId: string,
  hash: string,
  nowMs: number,
): Promise<void> {
  await db
    .insertInto('user_passwords')
    .values({ user_id: userId, hash, updated_at: nowMs })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ hash, updated_at: nowMs }))
    .execute();
}
