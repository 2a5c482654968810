import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  authorityPin,
  certificateSerial,
  createCertificateAuthority,
  issueCertificate,
  newKeyPair,
  verifyIssuedBy,
} from './x509.ts';

const NOW = Date.UTC(2026, 10, 27);
const ca = createCertificateAuthority({ commonName: 'test CA', nowMs: NOW });
const otherCa = createCertificateAuthority({ commonName: 'test CA', nowMs: NOW });

function issue(usage: 'server' | 'client', cn: string, altNames: string[], authority = ca) {
  const keys = newKeyPair();
  const cert = issueCertificate({
    authority,
    commonName: cn,
    publicKeyPem: keys.publicKeyPem,
    usage,
    altNames,
    nowMs: NOW,
    validDays: 30,
  });
  if (!cert.ok) throw new Error(cert.error.message);
  return { certPem: cert.value, keyPem: keys.privateKeyPem };
}

describe('rack CA', () => {
  it('makes a self-signed CA that Node reads as a CA', () => {
    const x = new X509Certificate(ca.certPem);
    expect(x.ca).toBe(true);
    expect(x.subject).toBe('CN=test CA');
    expect(x.checkIssued(x)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it('makes serials positive and minimal DER whatever the random bytes', () => {
    // 00 01 … would be a non-minimal INTEGER (OpenSSL: "illegal padding"); ff … a negative one.
    for (const first of [0x00, 0x01, 0x3f, 0x7f, 0x80, 0xff]) {
      const serial = certificateSerial(Buffer.from([first, 0x01, 0x02]));
      expect(serial[0]).toBeGreaterThanOrEqual(0x40);
      expect(serial[0]).toBeLessThan(0x80);
      expect(serial.subarray(1)).toEqual(Buffer.from([0x01, 0x02]));
    }
  });

  it('issues certificates Node can read, every time (1,000 random serials)', () => {
    // Before the minimal-serial fix about 1 in 256 of these failed to parse.
    const keys = newKeyPair();
    for (let i = 0; i < 1000; i++) {
      const cert = issueCertificate({
        authority: ca,
        commonName: `rack-${i}`,
        publicKeyPem: keys.publicKeyPem,
        usage: 'client',
        altNames: [],
        nowMs: NOW,
        validDays: 30,
      });
      if (!cert.ok) throw new Error(cert.error.message);
      expect(new X509Certificate(cert.value).subject).toBe(`CN=rack-${i}`);
    }
  });

  it('issues a rack certificate that verifies against its CA only', () => {
    const rack = issue('client', 'rack-123', ['rack-123']);
    const der = new X509Certificate(rack.certPem).raw;
    const verified = verifyIssuedBy(der, ca.certPem, NOW);
    expect(verified.ok && verified.value.commonName).toBe('rack-123');
    const other = verifyIssuedBy(der, otherCa.certPem, NOW);
    expect(!other.ok && other.error.kind).toBe('untrusted');
    const late = verifyIssuedBy(der, ca.certPem, NOW + 31 * 24 * 3600_000);
    expect(!late.ok && late.error.kind).toBe('expired');
    const self = verifyIssuedBy(new X509Certificate(ca.certPem).raw, ca.certPem, NOW);
    expect(!self.ok && self.error.kind).toBe('untrusted');
    expect(verifyIssuedBy(new Uint8Array([1, 2, 3]), ca.certPem, NOW).ok).toBe(false);
  });

  it('puts addresses and names in the subject alternative names', () => {
    const server = issue('server', 'ctl', ['127.0.0.1', '::1', 'localhost', 'ctl.example']);
    const x = new X509Certificate(server.certPem);
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkHost('ctl.example')).toBe('ctl.example');
    expect(x.checkIP('10.9.9.9')).toBeUndefined();
  });

  it('refuses a public key that is not an EC SPKI PEM', () => {
    const bad = issueCertificate({
      authority: ca,
      commonName: 'x',
      publicKeyPem: 'not a key',
      usage: 'client',
      altNames: [],
      nowMs: NOW,
      validDays: 1,
    });
    expect(!bad.ok && bad.error.kind).toBe('bad-public-key');
  });

  it('pins the CA by the SHA-256 of its public key', () => {
    const pin = authorityPin(ca.certPem);
    expect(pin).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(authorityPin(otherCa.certPem)).not.toBe(pin);
  });

  it('makes certificates a real TLS handshake accepts both ways', async () => {
    const server = issue('server', 'ctl', ['127.0.0.1', 'localhost']);
    const rack = issue('client', 'rack-7', ['rack-7']);
    const stranger = issue('client', 'rack-7', ['rack-7'], otherCa);
    const tls = createServer({
      key: server.keyPem,
      cert: server.certPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const peers: { authorized: boolean; cn: unknown }[] = [];
    tls.on('secureConnection', (socket: TLSSocket) => {
      const peer = socket.getPeerCertificate();
      // An empty object when the client sent no certificate.
      const cn = Object.keys(peer).length === 0 ? undefined : peer.subject.CN;
      peers.push({ authorized: socket.authorized, cn });
      socket.end();
    });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    const address = tls.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const dial = async (client?: { certPem: string; keyPem: string }): Promise<boolean> => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca: ca.certPem,
        ...(client === undefined ? {} : { cert: client.certPem, key: client.keyPem }),
      });
      await once(socket, 'secureConnect');
      const authorized = socket.authorized;
      socket.resume();
      // The server records the peer and ends the connection: wait for it.
      await once(socket, 'end');
      socket.destroy();
      return authorized;
    };
    try {
      expect(await dial(rack)).toBe(true);
      expect(await dial(stranger)).toBe(true);
      expect(await dial()).toBe(true);
      expect(peers).toEqual([
        { authorized: true, cn: 'rack-7' },
        { authorized: false, cn: 'rack-7' },
        { authorized: false, cn: undefined },
      ]);
    } finally {
      tls.close();
    }
  });

  it('refuses a rack certificate as a server certificate (purpose), whatever the host name', async () => {
    const rack = issue('client', 'rack-9', ['127.0.0.1']);
    const tls = createServer({ key: rack.keyPem, cert: rack.certPem });
    tls.on('secureConnection', (socket: TLSSocket) => socket.end());
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    const address = tls.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca: ca.certPem,
        checkServerIdentity: () => undefined,
      });
      // OpenSSL checks the serverAuth purpose: agents may skip the host name check (rack-tls.ts).
      const [error] = (await once(socket, 'error')) as [Error];
      expect(error.message).toMatch(/purpose/i);
    } finally {
      tls.close();
    }
  });
});
