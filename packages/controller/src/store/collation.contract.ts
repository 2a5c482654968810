/**
 * The sort-order part of the `Store` contract: lists sorted by a text column come back in byte
 * order (what SQLite's BINARY collation gives, and JavaScript's default sort for ASCII) on every
 * adapter. A PostgreSQL database created with a linguistic collation (`en_US`, ICU `en-US`, what
 * `createdb` gives on most systems) would otherwise ignore case and punctuation when sorting, so
 * `ingot machines list` and every paged listing would differ between the two databases.
 */
import { describe, expect, it } from 'vitest';
import { newMachine, newUser } from '../testing/index.ts';
import { describeStoreContract, newRack, type OpenStore } from './store-contract-fixtures.ts';

/** Names whose byte order differs from a linguistic order in case, digits and punctuation. */
const NAMES = ['node-10', 'Node-2', 'node_1', 'node.3', 'node1', 'NODE-0', 'n-a', 'na', 'nodeB'];

/** Byte order (the names are ASCII). */
const byteOrder = (names: readonly string[]): string[] =>
  [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeCollationStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('text sort order', () => {
      it('lists machines by hostname in byte order, also within a page', async () => {
        for (const [i, hostname] of NAMES.entries()) {
          await store().insertMachine(
            newMachine({
              id: `m${String(i)}`,
              hostname,
              macs: [`02:00:00:00:01:${String(10 + i)}`],
            }),
          );
        }
        const listed = (await store().listMachines({})).map((m) => m.hostname);
        expect(listed).toEqual(byteOrder(NAMES));
        const page = await store().listMachines({ limit: 3, offset: 3 });
        expect(page.map((m) => m.hostname)).toEqual(byteOrder(NAMES).slice(3, 6));
      });

      it('lists users by name and racks by name in byte order', async () => {
        for (const [i, username] of NAMES.entries()) {
          await store().insertUser(newUser({ id: `u${String(i)}`, username }));
          await store().insertRack(newRack({ id: `r${String(i)}`, name: username }));
        }
        expect((await store().listUsers()).map((u) => u.username)).toEqual(byteOrder(NAMES));
        expect((await store().listRacks()).map((r) => r.name)).toEqual(byteOrder(NAMES));
      });
    });
  });
}
