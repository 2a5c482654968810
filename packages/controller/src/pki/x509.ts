/**
 * X.509 for the rack CA (issue 7, mutual TLS): a self-signed CA, server certificates for the
 * controllers' gRPC port and client certificates for racks, all ECDSA P-256 with SHA-256.
 *
 * Node's crypto reads certificates (`X509Certificate`) and signs, but cannot build one. The
 * certificate structures (RFC 5280 §4.1) come from `@peculiar/asn1-x509`, a typed ASN.1 schema
 * with no runtime side effects; the signature is `node:crypto`'s (ECDSA signatures are already
 * the DER `Ecdsa-Sig-Value` X.509 wants). Verification is Node's own `X509Certificate`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { err, ok, type Result } from '@ingot/common';

/** ecdsa-with-SHA256 (RFC 5758 §3.2): its parameters are absent. */
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
/** id-at-commonName (RFC 5280 appendix A). */
const COMMON_NAME = '2.5.4.3';
const DAY_MS = 24 * 3600 * 1000;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface KeyAndCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A new ECDSA P-256 key pair; the private key as PKCS#8 PEM, the public key as SPKI PEM. */
export function newKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Creates a self-signed CA valid from `nowMs` (minus an hour of clock skew) for `years`. */
export function createCertificateAuthority(options: {
  readonly commonName: string;
  readonly nowMs: number;
  readonly years?: number;
}): KeyAndCertificate {
  const keys = newKeyPair();
  const spki = spkiOf(keys.publicKeyPem);
  const name = commonName(options.commonName);
  const ski = keyIdentifier(spki);
  const certPem = signCertificate({
    issuer: name,
    subject: name,
    spki,
    nowMs: options.nowMs,
    validDays: 365 * (options.years ?? 10),
    signingKey: createPrivateKey(keys.privateKeyPem),
    extensions: [
      extension(
        id_ce_basicConstraints,
        true,
        new BasicConstraints({ cA: true, pathLenConstraint: 0 }),
      ),
      extension(
        id_ce_keyUsage,
        true,
        new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign),
      ),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ski)),
    ],
  });
  return { certPem, keyPem: keys.privateKeyPem };
}

/** What an issued end-entity certificate says. */
export interface IssueOptions {
  /** The CA that signs. */
  readonly authority: KeyAndCertificate;
  /** Subject common name (the rack id for racks, a host name for controllers). */
  readonly commonName: string;
  /** Subject public key, SPKI PEM. */
  readonly publicKeyPem: string;
  /** `server` for a controller's gRPC port, `client` for a rack. */
  readonly usage: 'server' | 'client';
  /** Subject alternative names: IP addresses become iPAddress entries, the rest dNSName. */
  readonly altNames: readonly string[];
  readonly nowMs: number;
  readonly validDays: number;
}

/** Why a public key or certificate was refused. */
export interface PkiError {
  readonly kind: 'bad-public-key' | 'bad-certificate' | 'untrusted' | 'expired';
  readonly message: string;
}

/** Checks that `publicKeyPem` is an SPKI PEM EC public key, the kind agents make. */
export function checkPublicKey(publicKeyPem: string): Result<Buffer, PkiError> {
  try {
    if (createPublicKey(publicKeyPem).asymmetricKeyType !== 'ec') {
      return err({ kind: 'bad-public-key', message: 'the public key must be an EC key (P-256)' });
    }
    return ok(spkiOf(publicKeyPem));
  } catch (e) {
    return err({ kind: 'bad-public-key', message: `not an SPKI PEM public key: ${String(e)}` });
  }
}

/** Issues a certificate signed by `options.authority`. A bad public key is an error value. */
export function issueCertificate(options: IssueOptions): Result<string, PkiError> {
  const checked = checkPublicKey(options.publicKeyPem);
  if (!checked.ok) return checked;
  const spki = checked.value;
  const ca = new X509Certificate(options.authority.certPem);
  const caSpki = ca.publicKey.export({ type: 'spki', format: 'der' });
  const altNames = new SubjectAlternativeName(
    [...new Set(options.altNames)].map((n) =>
      isIP(n) === 0 ? new GeneralName({ dNSName: n }) : new GeneralName({ iPAddress: n }),
    ),
  );
  const extensions = [
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
    extension(
      id_ce_extKeyUsage,
      false,
      new ExtendedKeyUsage([options.usage === 'server' ? id_kp_serverAuth : id_kp_clientAuth]),
    ),
    extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki))),
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(caSpki)) }),
    ),
    ...(options.altNames.length > 0 ? [extension(id_ce_subjectAltName, false, altNames)] : []),
  ];
  return ok(
    signCertificate({
      issuer: AsnConvert.parse(ca.raw, Certificate).tbsCertificate.subject,
      subject: commonName(options.commonName),
      spki,
      nowMs: options.nowMs,
      validDays: options.validDays,
      signingKey: createPrivateKey(options.authority.keyPem),
      extensions,
    }),
  );
}

/**
 * The pin of a CA: `sha256:` and the hex SHA-256 of its SubjectPublicKeyInfo, as kubeadm's
 * `--discovery-token-ca-cert-hash` (the key, not the certificate, so re-issuing the CA
 * certificate with the same key keeps the pin).
 */
export function authorityPin(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** What a verified peer certificate says. */
export interface VerifiedPeer {
  readonly commonName: string;
  readonly fingerprint256: string;
}

/**
 * Checks that `certDer` was issued by `caCertPem` (signature and issuer name), is within its
 * validity at `nowMs`, and is not a CA; returns its subject common name.
 */
export function verifyIssuedBy(
  certDer: Uint8Array,
  caCertPem: string,
  nowMs: number,
): Result<VerifiedPeer, PkiError> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certDer);
  } catch (e) {
    return err({ kind: 'bad-certificate', message: `not an X.509 certificate: ${String(e)}` });
  }
  const ca = new X509Certificate(caCertPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    return err({ kind: 'untrusted', message: 'the certificate was not issued by this CA' });
  }
  if (cert.ca) return err({ kind: 'untrusted', message: 'a CA certificate is not a peer' });
  if (nowMs < Date.parse(cert.validFrom) || nowMs > Date.parse(cert.validTo)) {
    return err({ kind: 'expired', message: `valid ${cert.validFrom} to ${cert.validTo}` });
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (cn === undefined || cn === '') {
    return err({ kind: 'bad-certificate', message: 'the certificate names no subject CN' });
  }
  return ok({ commonName: cn, fingerprint256: cert.fingerprint256 });
}

/**
 * A serial number from 16 random bytes, as DER wants it: positive (top bit clear, RFC 5280
 * §4.1.2.2) and minimal (first byte not zero — `00 xx` with xx < 0x80 is "illegal padding" to
 * OpenSSL, which one random serial in 256 used to hit). 126 random bits are left.
 */
export function certificateSerial(random: Buffer): Buffer {
  if (random.length === 0) throw new Error('certificateSerial needs at least one byte');
  const serial = Buffer.from(random);
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  return serial;
}

function signCertificate(input: {
  issuer: Name;
  subject: Name;
  spki: Buffer;
  nowMs: number;
  validDays: number;
  signingKey: KeyObject;
  extensions: Extension[];
}): string {
  const serial = certificateSerial(randomBytes(16));
  const signature = new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature,
    issuer: input.issuer,
    validity: new Validity({
      notBefore: new Date(input.nowMs - 3600_000),
      notAfter: new Date(input.nowMs + input.validDays * DAY_MS),
    }),
    subject: input.subject,
    subjectPublicKeyInfo: AsnConvert.parse(input.spki, SubjectPublicKeyInfo),
    extensions: new Extensions(input.extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: signature,
    signatureValue: toArrayBuffer(sign('sha256', tbsDer, input.signingKey)),
  });
  const der = Buffer.from(AsnConvert.serialize(certificate));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({
    extnID,
    critical,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

function commonName(cn: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: COMMON_NAME,
        value: new AttributeValue({ utf8String: cn }),
      }),
    ]),
  ]);
}

function spkiOf(publicKeyPem: string): Buffer {
  return createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spkiDer: Buffer): ArrayBuffer {
  const bits = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo).subjectPublicKey;
  return toArrayBuffer(createHash('sha1').update(Buffer.from(bits)).digest());
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}
