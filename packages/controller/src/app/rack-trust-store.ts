/**
 * The store port for agent ⇄ controller trust (issue 7, mutual TLS): the certificate authority
 * every controller of one database shares, and rack revocation.
 */

/** A certificate authority as stored: its certificate and its private key, sealed. */
export interface StoredAuthority {
  readonly name: string;
  readonly certPem: string;
  /** The PKCS#8 PEM private key sealed with the controllers' secret box. */
  readonly keySealed: string;
  readonly createdAtMs: number;
}

/** Where the CA lives and racks are revoked. */
export interface RackTrustStore {
  /** The authority called `name`, if one was made. */
  getCertificateAuthority(name: string): Promise<StoredAuthority | undefined>;
  /**
   * Stores `authority` unless one of that name exists, and returns the one stored: the first
   * writer wins, also when several controllers race on one database.
   */
  insertCertificateAuthorityIfAbsent(authority: StoredAuthority): Promise<StoredAuthority>;
  /**
   * Marks a rack revoked at `nowMs` (kept as first revoked if already). Returns false when the
   * rack does not exist.
   */
  revokeRack(rackId: string, nowMs: number): Promise<boolean>;
}
