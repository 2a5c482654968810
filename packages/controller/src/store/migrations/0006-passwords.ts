/**
 * Operators' sign-in passwords (issue 6, web UI): one row per user that has a password, holding
 * only its scrypt hash with salt and parameters. Users without a row cannot sign in with a
 * password; API keys work as before.
 */
import type { Kysely, Migration } from 'kysely';

/** `0006_passwords`: the `user_passwords` table. */
export const passwordsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('user_passwords')
      .addColumn('user_id', 'text', (c) =>
        c.primaryKey().references('users.id').onDelete('cascade'),
      )
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
