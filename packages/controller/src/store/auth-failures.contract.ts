/**
 * The auth-failure part of the `Store` contract: fixed-window counters per key, concurrent
 * failures never lost, remembered successes, and pruning of expired rows.
 */
import { describe, expect, it } from 'vitest';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

const WINDOW_MS = 60_000;

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeAuthFailuresStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('auth failures', () => {
      it('counts failures per key within a window and starts a new window after it', async () => {
        const f = store().authFailures;
        expect(await f.recordAuthFailures(['ip:a', 'id:k'], T0, WINDOW_MS)).toEqual([
          { key: 'id:k', failures: 1, windowStartMs: T0, expiresAtMs: T0 + WINDOW_MS },
          { key: 'ip:a', failures: 1, windowStartMs: T0, expiresAtMs: T0 + WINDOW_MS },
        ]);
        await f.recordAuthFailures(['ip:a'], T0 + 10, WINDOW_MS);
        const third = await f.recordAuthFailures(['ip:a', 'ip:a'], T0 + WINDOW_MS - 1, WINDOW_MS);
        expect(third).toEqual([
          { key: 'ip:a', failures: 3, windowStartMs: T0, expiresAtMs: T0 + WINDOW_MS },
        ]);
        const next = await f.recordAuthFailures(['ip:a'], T0 + WINDOW_MS, WINDOW_MS);
        expect(next).toEqual([
          {
            key: 'ip:a',
            failures: 1,
            windowStartMs: T0 + WINDOW_MS,
            expiresAtMs: T0 + 2 * WINDOW_MS,
          },
        ]);
        expect((await f.getAuthFailures(['id:k', 'ip:b'])).map((c) => c.failures)).toEqual([1]);
      });

      it('loses no failure under concurrent writes', async () => {
        const f = store().authFailures;
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            f.recordAuthFailures(i % 2 === 0 ? ['ip:x', 'id:y'] : ['id:y', 'ip:x'], T0, WINDOW_MS),
          ),
        );
        const counts = await f.getAuthFailures(['ip:x', 'id:y']);
        expect(counts.map((c) => c.failures)).toEqual([40, 40]);
      });

      it('remembers a success and prunes expired rows', async () => {
        const f = store().authFailures;
        await f.recordAuthFailures(['ip:old'], T0, WINDOW_MS);
        await f.recordAuthFailures(['ip:new'], T0 + WINDOW_MS, WINDOW_MS);
        await f.noteAuthSuccess('ok:alice', T0, T0 + 10 * WINDOW_MS);
        expect(await f.getAuthFailures(['ok:alice'])).toEqual([
          { key: 'ok:alice', failures: 0, windowStartMs: T0, expiresAtMs: T0 + 10 * WINDOW_MS },
        ]);
        expect(await f.pruneAuthFailures(T0 + WINDOW_MS + 1, 100)).toBe(1);
        const left = await f.getAuthFailures(['ip:old', 'ip:new', 'ok:alice']);
        expect(left.map((c) => c.key).sort()).toEqual(['ip:new', 'ok:alice']);
        expect(await f.pruneAuthFailures(T0 + 100 * WINDOW_MS, 1)).toBe(1);
        expect(await f.pruneAuthFailures(T0 + 100 * WINDOW_MS, 1)).toBe(1);
        expect(await f.pruneAuthFailures(T0 + 100 * WINDOW_MS, 1)).toBe(0);
      });
    });
  });
}
