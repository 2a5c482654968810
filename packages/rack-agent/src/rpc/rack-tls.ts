/**
 * The agent's side of mutual TLS with controllers (issue 7).
 *
 * Trust bootstrap, as kubeadm's discovery token CA hash: an enrollment token is
 * `ingot-enroll-<secret>.sha256:<hex>`, where the hex is the SHA-256 of the controllers' CA
 * public key (SubjectPublicKeyInfo). Before the agent sends the token anywhere it opens a TLS
 * connection to the controller without trusting anything, takes the certificate chain the
 * controller presents, and looks in it for the certificate whose key has that hash: that is the
 * CA. Only then does it call `Register` over TLS that trusts exactly that CA (chain and host
 * name checked), sending its own public key; the private key never leaves `DATA/tls/`.
 * Every later connection trusts only that CA and presents the rack's certificate.
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { err, ok, type Result } from '@ingot/common';
import { parseHostPort } from '../config.ts';

/** What a rack needs for mutual TLS: its key and certificate, and the CA it trusts. */
export interface RackTls {
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

/** An enrollment token split into the secret the controller checks and the CA pin. */
export interface EnrollmentToken {
  readonly secret: string;
  /** `sha256:<64 hex>`; undefined for tokens from a plaintext controller. */
  readonly pin: string | undefined;
}

/** Splits `SECRET.sha256:HEX`; a token without a `.` has no pin. */
export function parseEnrollmentToken(
  token: string,
): Result<EnrollmentToken, { kind: 'bad-token'; message: string }> {
  const dot = token.indexOf('.');
  if (dot < 0) return ok({ secret: token, pin: undefined });
  const pin = token.slice(dot + 1).toLowerCase();
  if (!/^sha256:[0-9a-f]{64}$/.test(pin)) {
    return err({
      kind: 'bad-token',
      message: 'the token\'s CA pin is not "sha256:" and 64 hex digits',
    });
  }
  return ok({ secret: token.slice(0, dot), pin });
}

/** The pin of a certificate's public key, as enrollment tokens carry it. */
export function publicKeyPin(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** A new EC P-256 key pair for the rack. */
export function newRackKey(): { keyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Why the controller's CA could not be established. */
export interface PinError {
  readonly kind: 'unreachable' | 'pin-mismatch';
  readonly message: string;
}

/**
 * Connects to `address` without trusting anything, and returns (PEM) the certificate in the
 * chain it presents whose public key matches `pin`. `unreachable` is worth retrying;
 * `pin-mismatch` means this is not the controller that made the token.
 */
export function fetchPinnedCa(
  address: string,
  pin: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Result<string, PinError>> {
  const target = parseHostPort(address);
  if (!target.ok)
    return Promise.resolve(err({ kind: 'unreachable', message: target.error.message }));
  return new Promise((resolve) => {
    const socket = connect({
      host: target.value.host,
      port: target.value.port,
      // Nothing is trusted yet: the pin decides, below.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...(/^[\d.]+$|:/.test(target.value.host) ? {} : { servername: target.value.host }),
    });
    const done = (result: Result<string, PinError>): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => done(err({ kind: 'unreachable', message: 'aborted' }));
    const timer = setTimeout(
      () => done(err({ kind: 'unreachable', message: `no TLS answer from ${address}` })),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (e: Error) => done(err({ kind: 'unreachable', message: e.message })));
    socket.once('secureConnect', () => {
      const seen: string[] = [];
      // An empty object when the server sent no certificate (typed as always present).
      const first = socket.getPeerCertificate(true) as Partial<DetailedPeerCertificate>;
      let current: DetailedPeerCertificate | undefined =
        first.raw === undefined ? undefined : (first as DetailedPeerCertificate);
      // The chain links back to itself at a self-signed root; bounded either way.
      for (let depth = 0; current !== undefined && depth < 8; depth++) {
        const cert = new X509Certificate(current.raw);
        if (publicKeyPin(cert) === pin) {
          done(ok(cert.toString()));
          return;
        }
        seen.push(cert.subject.replace(/\n/g, ', '));
        // Absent when the chain stops at a certificate whose issuer was not sent.
        const next = current.issuerCertificate as DetailedPeerCertificate | undefined;
        if (next === undefined || next === current || next.raw.equals(current.raw)) break;
        current = next;
      }
      done(
        err({
          kind: 'pin-mismatch',
          message:
            `no certificate presented by ${address} has the CA key the enrollment token pins ` +
            `(saw ${seen.join(' / ') || 'none'}): this is not the controller that made the token`,
        }),
      );
    });
  });
}

/**
 * Credentials for a rack's calls: mutual TLS with `tls`, or plaintext when undefined.
 *
 * The controller's certificate must chain to the rack CA and carry the serverAuth purpose
 * (OpenSSL checks it; rack certificates are clientAuth only, so a rack cannot pose as a
 * controller), but its host names are not compared with the address dialled: agents reach
 * controllers through forwarders, NAT and addresses added after the controller started (the lab
 * does), and the CA is Ingot's own, issuing server certificates to controllers alone.
 */
export function rackCredentials(
  tls: RackTls | { readonly caPem: string } | undefined,
): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  const ca = Buffer.from(tls.caPem);
  const verify = { checkServerIdentity: () => undefined };
  if (!('keyPem' in tls)) return credentials.createSsl(ca, null, null, verify);
  return credentials.createSsl(ca, Buffer.from(tls.keyPem), Buffer.from(tls.certPem), verify);
}

const TLS_DIR = 'tls';
const FILES = { keyPem: 'rack.key', certPem: 'rack.crt', caPem: 'ca.crt' } as const;

/** The rack's TLS material from `DATA/tls/`, if it was enrolled with a certificate. */
export function loadRackTls(dataDir: string): RackTls | undefined {
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(join(dataDir, TLS_DIR, name), 'utf8');
    } catch {
      return undefined;
    }
  };
  const keyPem = read(FILES.keyPem);
  const certPem = read(FILES.certPem);
  const caPem = read(FILES.caPem);
  if (keyPem === undefined || certPem === undefined || caPem === undefined) return undefined;
  return { keyPem, certPem, caPem };
}

/** Writes the rack's TLS material to `DATA/tls/` (directory 0700, files 0600, each atomically). */
export function saveRackTls(dataDir: string, tls: RackTls): void {
  const dir = join(dataDir, TLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [field, name] of Object.entries(FILES) as [keyof RackTls, string][]) {
    const path = join(dir, name);
    writeFileSync(`${path}.tmp`, tls[field], { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }
}
