/**
 * The account part of the `Store` contract: users, API keys and one-time enrollment tokens.
 */
import { describe, expect, it } from 'vitest';
import { newUser } from '../testing/index.ts';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeAccountStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('users and API keys', () => {
      it('stores users and finds them by id and name', async () => {
        const alice = newUser({ username: 'alice', role: 'admin' });
        const bob = newUser({ username: 'bob' });
        await store().insertUser(bob);
        await store().insertUser(alice);
        expect(await store().getUser(alice.id)).toEqual(alice);
        expect(await store().getUserByName('bob')).toEqual(bob);
        expect(await store().getUserByName('carol')).toBeUndefined();
        expect(await store().listUsers()).toEqual([alice, bob]);
        expect(await store().countUsers()).toBe(2);
        await expect(store().insertUser(newUser({ username: 'alice' }))).rejects.toThrow();
      });

      it('stores API keys', async () => {
        const user = newUser();
        await store().insertUser(user);
        const key = {
          id: 'k1',
          userId: user.id,
          secretHash: 'cd'.repeat(32),
          name: 'ci',
          createdAtMs: T0,
        };
        await store().insertApiKey(key);
        expect(await store().getApiKey('k1')).toEqual(key);
        expect(await store().getApiKey('k2')).toBeUndefined();
      });
    });

    describe('enrollment tokens', () => {
      it('can be used once', async () => {
        await store().insertEnrollmentToken('hash-1', 'user:admin', T0 + 1_000, T0);
        expect(await store().consumeEnrollmentToken('hash-1', T0 + 1)).toBe(true);
        expect(await store().consumeEnrollmentToken('hash-1', T0 + 2)).toBe(false);
      });

      it('can be used once even by concurrent callers', async () => {
        await store().insertEnrollmentToken('hash-1', 'user:admin', T0 + 1_000, T0);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store().consumeEnrollmentToken('hash-1', T0 + 1)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it.each([
        ['at the expiry instant', 1_000],
        ['after expiry', 5_000],
      ])('cannot be used %s', async (_, atMs) => {
        await store().insertEnrollmentToken('hash-1', 'user:admin', T0 + 1_000, T0);
        expect(await store().consumeEnrollmentToken('hash-1', T0 + atMs)).toBe(false);
      });

      it('unknown tokens are refused', async () => {
        expect(await store().consumeEnrollmentToken('nope', T0)).toBe(false);
      });
    });
  });
}
