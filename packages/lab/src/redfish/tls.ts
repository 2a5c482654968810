/**
 * A throw-away TLS identity for the lab Redfish service: a self-signed P-256 certificate made
 * by `openssl` at start (valid one day, CN `ingot-lab-bmc`, SAN 127.0.0.1 + localhost + the
 * given extra names). Clients must skip verification or trust `certPath`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../command.ts';

/** A generated certificate and key (PEM). */
export interface SelfSignedCert {
  readonly cert: string;
  readonly key: string;
  /** Where the certificate is, for clients that want to trust it (`verify=<path>` in sushy). */
  readonly certPath: string;
  /** Removes the files. */
  remove(): void;
}

/**
 * Generates a certificate in a new temp directory.
 *
 * @param altNames extra subjectAltName entries, e.g. `IP:172.31.0.1`.
 * @throws when openssl is missing or fails.
 */
export async function createSelfSignedCert(
  altNames: readonly string[] = [],
): Promise<SelfSignedCert> {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-redfish-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const san = ['IP:127.0.0.1', 'DNS:localhost', ...altNames].join(',');
  try {
    await runCommand(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=ingot-lab-bmc',
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { timeoutMs: 20_000 },
    );
    return {
      cert: readFileSync(certPath, 'utf8'),
      key: readFileSync(keyPath, 'utf8'),
      certPath,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error: unknown) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
