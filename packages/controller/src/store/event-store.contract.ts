/**
 * The event part of the `Store` contract: idempotent appends in seq order, filtered listing.
 */
import { describe, expect, it } from 'vitest';
import { newEvent } from '../testing/index.ts';
import type { Store } from '../app/ports.ts';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeEventStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('events', () => {
      it('stores new events with increasing seq and returns only those that were new', async () => {
        const a = newEvent({ id: 'a' });
        const b = newEvent({ id: 'b' });
        const first = await store().appendEvents([a, b], T0 + 1);
        expect(first.map((e) => e.id)).toEqual(['a', 'b']);
        expect(first[0]).toEqual({ ...a, seq: first[0]?.seq, recordedAtMs: T0 + 1 });
        const [sa, sb] = first.map((e) => e.seq);
        expect(sb).toBeGreaterThan(sa ?? Infinity);

        const second = await store().appendEvents(
          [newEvent({ id: 'a' }), newEvent({ id: 'c' })],
          T0 + 2,
        );
        expect(second.map((e) => e.id)).toEqual(['c']);
        expect(second[0]?.seq).toBeGreaterThan(sb ?? Infinity);

        const all = await store().listEvents({});
        expect(all.map((e) => e.id)).toEqual(['a', 'b', 'c']);
        // The first copy of `a` is kept as it was.
        expect(all[0]?.recordedAtMs).toBe(T0 + 1);
      });

      it('stores an id repeated within one call once', async () => {
        const stored = await store().appendEvents(
          [newEvent({ id: 'x', message: 'first' }), newEvent({ id: 'x', message: 'again' })],
          T0,
        );
        expect(stored.map((e) => e.id)).toEqual(['x']);
        expect((await store().listEvents({})).map((e) => e.message)).toEqual(['first']);
      });

      it('returns an empty list for an empty or all-duplicate append', async () => {
        expect(await store().appendEvents([], T0)).toEqual([]);
        await store().appendEvents([newEvent({ id: 'dup' })], T0);
        expect(await store().appendEvents([newEvent({ id: 'dup' })], T0)).toEqual([]);
      });

      it('keeps every field and large batches', async () => {
        const rich = newEvent({
          id: 'rich',
          kind: 'transition',
          machineId: 'm1',
          rackId: 'r1',
          step: 'deploy',
          result: 'failed',
          fromStatus: 'allocated',
          toStatus: 'deploying',
          actor: 'user:alice',
          message: 'Deploying',
          data: { os: 'debian', nested: { n: 1, list: [1, 'two'] } },
          occurredAtMs: T0 - 5,
        });
        const many = Array.from({ length: 1_234 }, (_, i) => newEvent({ id: `bulk-${i}` }));
        const stored = await store().appendEvents([rich, ...many], T0);
        expect(stored).toHaveLength(1_235);
        const seqs = stored.map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        const [first] = await store().listEvents({ limit: 1 });
        expect(first).toEqual({ ...rich, seq: first?.seq, recordedAtMs: T0 });
      });

      it('filters by machine, after a seq, and limits, oldest first', async () => {
        const stored = await store().appendEvents(
          [
            newEvent({ id: '1', machineId: 'm1' }),
            newEvent({ id: '2', machineId: 'm2' }),
            newEvent({ id: '3', machineId: 'm1' }),
            newEvent({ id: '4', machineId: null }),
            newEvent({ id: '5', machineId: 'm1' }),
          ],
          T0,
        );
        const seqOf = (id: string): number => stored.find((e) => e.id === id)?.seq ?? -1;
        const ids = async (filter: Parameters<Store['listEvents']>[0]): Promise<string[]> =>
          (await store().listEvents(filter)).map((e) => e.id);
        expect(await ids({})).toEqual(['1', '2', '3', '4', '5']);
        expect(await ids({ machineId: 'm1' })).toEqual(['1', '3', '5']);
        expect(await ids({ afterSeq: seqOf('2') })).toEqual(['3', '4', '5']);
        expect(await ids({ machineId: 'm1', afterSeq: seqOf('1'), limit: 1 })).toEqual(['3']);
        expect(await ids({ limit: 2 })).toEqual(['1', '2']);
        expect(await ids({ afterSeq: seqOf('5') })).toEqual([]);
        expect(await ids({ machineId: 'none' })).toEqual([]);
      });
      it('knows which event ids it has', async () => {
        expect(await store().hasEvent('a')).toBe(false);
        await store().appendEvents([newEvent({ id: 'a' })], T0);
        expect(await store().hasEvent('a')).toBe(true);
        expect(await store().hasEvent('b')).toBe(false);
        // A duplicate append changes nothing.
        await store().appendEvents([newEvent({ id: 'a' })], T0);
        expect(await store().hasEvent('a')).toBe(true);
      });
    });
  });
}
