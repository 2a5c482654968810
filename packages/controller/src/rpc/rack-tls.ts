/**
 * Mutual TLS on the rack gRPC port (issue 7). One port serves both calls:
 *
 * - `Register` must work for an agent that has no certificate yet, so the server *requests* a
 *   client certificate but does not *require* one at the TLS layer (`requestCert: true`,
 *   `rejectUnauthorized: false`). The TLS layer still verifies any certificate sent against the
 *   CA; grpc-js then reports the peer certificate only when that verification passed
 *   (`getAuthContext()` is empty for a missing or untrusted certificate).
 * - `Session` requires it: {@link sessionPeer} insists on a verified certificate, checks it again
 *   against the CA (signature, issuer, validity) and returns the rack id it names.
 *
 * `ServerCredentials.createSsl(…, checkClientCertificate)` cannot express "request but do not
 * require": `true` refuses every connection without a certificate, `false` never asks for one.
 * grpc-js's certificate-provider credentials can (`requireClientCertificate: false`), so the CA
 * and this controller's key pair are given through a provider that never changes.
 */
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import { err, ok, type Result } from '@ingot/common';
import type { RackAuthority } from '../pki/authority.ts';
import type { KeyAndCertificate } from '../pki/x509.ts';

type Provider = Parameters<typeof experimental.createCertificateProviderServerCredentials>[0];

/** Server credentials for the rack port: this controller's certificate, the racks' CA. */
export function rackServerCredentials(
  caCertPem: string,
  server: KeyAndCertificate,
): ServerCredentials {
  const ca = { caCertificate: Buffer.from(caCertPem) };
  const identity = {
    certificate: Buffer.from(server.certPem + caCertPem),
    privateKey: Buffer.from(server.keyPem),
  };
  // One fixed provider serves both roles (the argument order of the factory is not to be
  // relied on: both listeners are answered at once with the same material).
  const provider: Provider = {
    addCaCertificateListener: (listener) => listener(ca),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => listener(identity),
    removeIdentityCertificateListener: () => undefined,
  };
  const serverCredentials = experimental.createCertificateProviderServerCredentials(
    provider,
    provider,
    false,
  );
  // grpc-js reads the TLS options once when it creates the HTTP/2 server, before it watches the
  // credentials, and drops every connection until they are there. A watcher of our own makes the
  // provider deliver now, so the options exist when the server is made.
  serverCredentials._addWatcher(() => undefined);
  return serverCredentials;
}

/** The parts of a grpc-js server call this needs. */
interface CallWithAuth {
  getAuthContext(): { sslPeerCertificate?: { raw?: Buffer } } | null;
}

/**
 * The rack id a Session's client certificate names, after checking that the TLS layer verified
 * it and that it chains to the CA. An error value says why the peer is refused.
 */
export function sessionPeer(
  call: CallWithAuth,
  authority: RackAuthority,
  nowMs: number,
): Result<string, { kind: 'refused'; message: string }> {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (raw === undefined) {
    return err({
      kind: 'refused',
      message: "a client certificate issued by the controllers' CA is required (enroll the rack)",
    });
  }
  const verified = authority.verifyPeer(raw, nowMs);
  if (!verified.ok) {
    return err({
      kind: 'refused',
      message: `client certificate refused: ${verified.error.message}`,
    });
  }
  return ok(verified.value.commonName);
}
