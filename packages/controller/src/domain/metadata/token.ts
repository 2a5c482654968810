/**
 * Metadata tokens (docs/deploy-contract.md "Metadata token"): the credential a machine presents
 * to the metadata service, MAAS's three-part OAuth form `<consumer_key>:<token_key>:<secret>`.
 * The controller keeps the two keys in clear and only a hash of the secret.
 */

/** Characters of each part. */
export const TOKEN_PART_PATTERN = /^[A-Za-z0-9]{24}$/;

/** A token as stored. */
export interface MetadataTokenRecord {
  readonly machineId: string;
  readonly consumerKey: string;
  readonly tokenKey: string;
  /** SHA-256 (hex) of the secret. */
  readonly secretHash: string;
  readonly issuedAtMs: number;
}

/** The three parts of a token. */
export interface MetadataTokenParts {
  readonly consumerKey: string;
  readonly tokenKey: string;
  readonly secret: string;
}

/** Joins the parts into the form carried on the kernel command line and in cloud-init config. */
export function formatMetadataToken(parts: MetadataTokenParts): string {
  return `${parts.consumerKey}:${parts.tokenKey}:${parts.secret}`;
}

/** Splits a token; undefined unless it has three parts of 24 letters and digits. */
export function parseMetadataToken(token: string): MetadataTokenParts | undefined {
  const [consumerKey, tokenKey, secret, ...rest] = token.split(':');
  if (consumerKey === undefined || tokenKey === undefined || secret === undefined) return undefined;
  if (rest.length > 0) return undefined;
  return [consumerKey, tokenKey, secret].every((p) => TOKEN_PART_PATTERN.test(p))
    ? { consumerKey, tokenKey, secret }
    : undefined;
}

/**
 * Whether a machine's token works now: while it commissions, deploys or is deployed, and while it
 * releases with an erase (its boot environment reports the wipe).
 */
export function tokenValidIn(status: string, bootPurpose: string | null): boolean {
  if (status === 'commissioning' || status === 'deploying' || status === 'deployed') return true;
  return status === 'releasing' && bootPurpose === 'erase';
}

/**
 * Boot purposes whose boot environment talks to the metadata service and so gets a new token
 * (a new token revokes the previous one).
 */
export const TOKEN_PURPOSES: ReadonlySet<string> = new Set([
  'install',
  'ephemeral',
  'commission',
  'erase',
]);
