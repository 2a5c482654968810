import { randomBytes, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../app/secret-box.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { loadOrCreateAuthority, serverAltNames } from './authority.ts';
import { newKeyPair } from './x509.ts';

const NOW = Date.UTC(2026, 10, 27);

describe('loadOrCreateAuthority', () => {
  it('makes one CA for every controller of a database and issues racks certificates', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const box = createSecretBox(randomBytes(32));
      const all = await Promise.all(
        [1, 2, 3].map(() => loadOrCreateAuthority(store.rackTrust, box, NOW)),
      );
      expect(new Set(all.map((a) => a.caCertPem)).size).toBe(1);
      expect(new Set(all.map((a) => a.pin)).size).toBe(1);
      const [a, b] = all;
      if (a === undefined || b === undefined) throw new Error('unreachable');
      // The key is stored sealed, never in the clear.
      const row = await store.rackTrust.getCertificateAuthority('racks');
      expect(row?.keySealed.startsWith('v1:')).toBe(true);
      expect(row?.keySealed).not.toContain('PRIVATE KEY');

      const issued = a.issueRackCertificate('rack-1', newKeyPair().publicKeyPem, NOW);
      if (!issued.ok) throw new Error(issued.error.message);
      const verified = b.verifyPeer(new X509Certificate(issued.value).raw, NOW);
      expect(verified.ok && verified.value.commonName).toBe('rack-1');
      const server = b.issueServerCertificate(['127.0.0.1', 'localhost'], NOW);
      expect(
        new X509Certificate(server.certPem).checkIssued(new X509Certificate(a.caCertPem)),
      ).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('refuses to start with another secrets.key than the one that sealed the CA', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      await loadOrCreateAuthority(store.rackTrust, createSecretBox(randomBytes(32)), NOW);
      await expect(
        loadOrCreateAuthority(store.rackTrust, createSecretBox(randomBytes(32)), NOW),
      ).rejects.toThrow(/secrets\.key/);
    } finally {
      await store.close();
    }
  });
});

describe('serverAltNames', () => {
  it('names loopback, the listen address and advertised names', () => {
    const names = serverAltNames('10.1.2.3', ['ctl.example']);
    expect(names).toEqual(
      expect.arrayContaining(['127.0.0.1', 'localhost', '10.1.2.3', 'ctl.example']),
    );
    expect(serverAltNames('0.0.0.0', [])).toContain('127.0.0.1');
  });
});
