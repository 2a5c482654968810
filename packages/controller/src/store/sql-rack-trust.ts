/**
 * The rack CA and rack revocation in SQL (`RackTrustStore`). The CA insert is
 * `INSERT … ON CONFLICT DO NOTHING` followed by a read, so controllers starting at once on one
 * PostgreSQL all end up with the one row that won, on both dialects and without a transaction.
 */
import type { Kysely } from 'kysely';
import type { RackTrustStore, StoredAuthority } from '../app/rack-trust-store.ts';
import type { Database } from './schema.ts';

function authority(row: Database['certificate_authorities']): StoredAuthority {
  return {
    name: row.name,
    certPem: row.cert_pem,
    keySealed: row.key_sealed,
    createdAtMs: row.created_at,
  };
}

/** `RackTrustStore` over a Kysely database of either dialect. */
export class SqlRackTrust implements RackTrustStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async getCertificateAuthority(name: string): Promise<StoredAuthority | undefined> {
    const row = await this.#db
      .selectFrom('certificate_authorities')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : authority(row);
  }

  async insertCertificateAuthorityIfAbsent(candidate: StoredAuthority): Promise<StoredAuthority> {
    await this.#db
      .insertInto('certificate_authorities')
      .values({
        name: candidate.name,
        cert_pem: candidate.certPem,
        key_sealed: candidate.keySealed,
        created_at: candidate.createdAtMs,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const stored = await this.getCertificateAuthority(candidate.name);
    if (stored === undefined) throw new Error(`certificate authority ${candidate.name} vanished`);
    return stored;
  }

  async revokeRack(rackId: string, nowMs: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('racks')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(nowMs)) }))
      .where('id', '=', rackId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
