/**
 * The rack certificate authority (issue 7, mutual TLS between agents and controllers): one row
 * holding the CA's certificate and its private key sealed with the controllers' shared secret
 * box (`DATA/secrets.key`, the same on every controller of one database), and the revocation
 * time of racks. The CA row is made once by whichever controller starts first
 * (`insertCertificateAuthorityIfAbsent`); the others read it.
 */
import type { Kysely, Migration } from 'kysely';

/** `0008_pki`: the `certificate_authorities` table and `racks.revoked_at`. */
export const pkiMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('certificate_authorities')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('cert_pem', 'text', (c) => c.notNull())
      .addColumn('key_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('racks').addColumn('revoked_at', 'bigint').execute();
  },
};
