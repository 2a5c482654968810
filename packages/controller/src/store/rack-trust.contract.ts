/**
 * The rack-trust part of the `Store` contract: the certificate authority is made once however
 * many controllers race to make it, and racks can be revoked.
 */
import { describe, expect, it } from 'vitest';
import { describeStoreContract, newRack, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeRackTrustStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('rack trust', () => {
      it('keeps the first certificate authority of a name, also under concurrent inserts', async () => {
        const trust = store().rackTrust;
        expect(await trust.getCertificateAuthority('racks')).toBeUndefined();
        const candidates = Array.from({ length: 8 }, (_, i) => ({
          name: 'racks',
          certPem: `cert-${i}`,
          keySealed: `key-${i}`,
          createdAtMs: T0 + i,
        }));
        const results = await Promise.all(
          candidates.map((c) => trust.insertCertificateAuthorityIfAbsent(c)),
        );
        const winner = results[0];
        expect(candidates).toContainEqual(winner);
        for (const r of results) expect(r).toEqual(winner);
        expect(await trust.getCertificateAuthority('racks')).toEqual(winner);
        const later = { name: 'racks', certPem: 'x', keySealed: 'y', createdAtMs: T0 + 99 };
        expect(await trust.insertCertificateAuthorityIfAbsent(later)).toEqual(winner);
        expect(await trust.getCertificateAuthority('other')).toBeUndefined();
      });

      it('revokes a rack once and says when the rack does not exist', async () => {
        await store().insertRack(newRack({ id: 'r1' }));
        expect((await store().getRack('r1'))?.revokedAtMs).toBeUndefined();
        expect(await store().rackTrust.revokeRack('r1', T0 + 5)).toBe(true);
        expect((await store().getRack('r1'))?.revokedAtMs).toBe(T0 + 5);
        // Revoking again keeps the first time.
        expect(await store().rackTrust.revokeRack('r1', T0 + 9)).toBe(true);
        expect((await store().getRack('r1'))?.revokedAtMs).toBe(T0 + 5);
        expect(await store().rackTrust.revokeRack('nope', T0)).toBe(false);
      });
    });
  });
}
