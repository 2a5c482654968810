/**
 * The rack certificate authority of a controller (issue 7, mutual TLS). Every controller of one
 * database shares one CA: the first to start makes it and stores it (the private key sealed with
 * the secret box, `DATA/secrets.key`, which controllers sharing a database already share for BMC
 * passwords); the others load it. Each controller then issues itself a short-lived server
 * certificate for its gRPC port, and issues each rack a client certificate at enrollment.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { Result } from '@ingot/common';
import type { RackTrustStore } from '../app/rack-trust-store.ts';
import type { SecretBox } from '../app/secret-box.ts';
import {
  authorityPin,
  checkPublicKey,
  createCertificateAuthority,
  issueCertificate,
  newKeyPair,
  verifyIssuedBy,
  type KeyAndCertificate,
  type PkiError,
  type VerifiedPeer,
} from './x509.ts';

/** The name of the one CA row for racks. */
export const RACK_CA_NAME = 'racks';
/** Rack client certificates last this long; the agent renews at Register (see README). */
export const RACK_CERT_DAYS = 3650;
/** A controller's server certificate is made at each start and lasts this long. */
export const SERVER_CERT_DAYS = 365;

/** What the rest of the controller uses of the CA. */
export interface RackAuthority {
  readonly caCertPem: string;
  /** `sha256:<hex>` of the CA's public key: what enrollment tokens carry. */
  readonly pin: string;
  /** A client certificate for rack `rackId` over the agent's own public key (SPKI PEM). */
  issueRackCertificate(
    rackId: string,
    publicKeyPem: string,
    nowMs: number,
  ): Result<string, PkiError>;
  /** Whether a public key from an agent can be certified (checked before a token is spent). */
  checkPublicKey(publicKeyPem: string): Result<unknown, PkiError>;
  /** A fresh key and server certificate for this controller's gRPC port. */
  issueServerCertificate(altNames: readonly string[], nowMs: number): KeyAndCertificate;
  /** Checks a peer certificate (DER) against the CA; returns its common name (the rack id). */
  verifyPeer(certDer: Uint8Array, nowMs: number): Result<VerifiedPeer, PkiError>;
}

/**
 * Loads the CA from the store, making and storing it first if there is none (the first
 * controller wins a race; the others load the winner's). Throws when the stored key cannot be
 * opened with this controller's secret box: its `secrets.key` differs from the first one's.
 */
export async function loadOrCreateAuthority(
  store: RackTrustStore,
  secrets: SecretBox,
  nowMs: number,
): Promise<RackAuthority> {
  let stored = await store.getCertificateAuthority(RACK_CA_NAME);
  if (stored === undefined) {
    const made = createCertificateAuthority({ commonName: 'Ingot rack CA', nowMs });
    stored = await store.insertCertificateAuthorityIfAbsent({
      name: RACK_CA_NAME,
      certPem: made.certPem,
      keySealed: secrets.seal(made.keyPem),
      createdAtMs: nowMs,
    });
  }
  let keyPem: string;
  try {
    keyPem = secrets.open(stored.keySealed);
  } catch (e) {
    throw new Error(
      'cannot open the rack CA key stored in the database: this controller has a different ' +
        'DATA/secrets.key from the controller that made it. Controllers sharing a database must ' +
        'share secrets.key (copy it from the first controller).',
      { cause: e },
    );
  }
  const authority: KeyAndCertificate = { certPem: stored.certPem, keyPem };
  return {
    caCertPem: stored.certPem,
    pin: authorityPin(stored.certPem),
    issueRackCertificate: (rackId, publicKeyPem, now) =>
      issueCertificate({
        authority,
        commonName: rackId,
        publicKeyPem,
        usage: 'client',
        altNames: [rackId],
        nowMs: now,
        validDays: RACK_CERT_DAYS,
      }),
    checkPublicKey,
    issueServerCertificate(altNames, now) {
      const keys = newKeyPair();
      const issued = issueCertificate({
        authority,
        commonName: altNames[0] ?? 'ingot-controller',
        publicKeyPem: keys.publicKeyPem,
        usage: 'server',
        altNames,
        nowMs: now,
        validDays: SERVER_CERT_DAYS,
      });
      if (!issued.ok)
        throw new Error(`issuing the server certificate failed: ${issued.error.message}`);
      return { certPem: issued.value, keyPem: keys.privateKeyPem };
    },
    verifyPeer: (certDer, now) => verifyIssuedBy(certDer, stored.certPem, now),
  };
}

/**
 * The names a controller's gRPC server certificate carries: loopback (`127.0.0.1`, `::1`,
 * `localhost`), the host name, the listen address — or, listening on every address, each local
 * interface address — and the operator's `--advertise` names (DNS names or addresses agents dial,
 * e.g. behind NAT or a load balancer).
 */
export function serverAltNames(listenHost: string, advertise: readonly string[]): string[] {
  const names = ['127.0.0.1', '::1', 'localhost', hostname(), ...advertise];
  const host = listenHost.replace(/^\[|\]$/g, '');
  if (host === '0.0.0.0' || host === '::' || host === '') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.push(a.address.replace(/%.*$/, ''));
    }
  } else {
    names.push(host);
  }
  return [...new Set(names.filter((n) => n !== ''))];
}
