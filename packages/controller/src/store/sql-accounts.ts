/* eslint-disable @typescript-eslint/no-unnecessary-type-conversion --
   Number() stays on counts and row counts: PostgreSQL's driver returns bigint as strings. */
/**
 * Users, API keys and enrollment tokens in SQL (part of `SqlStore`).
 */
import type { Kysely } from 'kysely';
import type { ApiKeyRecord, User } from '../domain/user.ts';
import type { Database } from './schema.ts';
import { userFromRow } from './rows.ts';

/** `Store.insertUser`. */
export async function insertUser(db: Kysely<Database>, user: User): Promise<void> {
  await db
    .insertInto('users')
    .values({
      id: user.id,
      username: user.username,
      role: user.role,
      created_at: user.createdAtMs,
    })
    .execute();
}

/** `Store.getUser`. */
export async function getUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : userFromRow(row);
}

/** `Store.getUserByName`. */
export async function getUserByName(
  db: Kysely<Database>,
  username: string,
): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('username', '=', username)
    .executeTakeFirst();
  return row === undefined ? undefined : userFromRow(row);
}

/** `Store.listUsers`. */
export async function listUsers(db: Kysely<Database>): Promise<User[]> {
  return (await db.selectFrom('users').selectAll().orderBy('username').execute()).map(userFromRow);
}

/** `Store.countUsers`. */
export async function countUsers(db: Kysely<Database>): Promise<number> {
  const r = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** `Store.insertApiKey`. */
export async function insertApiKey(db: Kysely<Database>, key: ApiKeyRecord): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      user_id: key.userId,
      secret_hash: key.secretHash,
      name: key.name,
      created_at: key.createdAtMs,
    })
    .execute();
}

/** `Store.getApiKey`. */
export async function getApiKey(
  db: Kysely<Database>,
  id: string,
): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined
    ? undefined
    : {
        id: row.id,
        userId: row.user_id,
        secretHash: row.secret_hash,
        name: row.name,
        createdAtMs: Number(row.created_at),
      };
}

/** `Store.insertEnrollmentToken`. */
export async function insertEnrollmentToken(
  db: Kysely<Database>,
  tokenHash: string,
  createdBy: string,
  expiresAtMs: number,
  nowMs: number,
): Promise<void> {
  await db
    .insertInto('enrollment_tokens')
    .values({
      token_hash: tokenHash,
      created_by: createdBy,
      created_at: nowMs,
      expires_at: expiresAtMs,
      used_at: null,
    })
    .execute();
}

/** `Store.consumeEnrollmentToken`. */
export async function consumeEnrollmentToken(
  db: Kysely<Database>,
  tokenHash: string,
  nowMs: number,
): Promise<boolean> {
  const r = await db
    .updateTable('enrollment_tokens')
    .set({ used_at: nowMs })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', nowMs)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
