/**
 * Byte-order sorting on PostgreSQL (issue 7). SQLite compares text byte by byte (BINARY); a
 * PostgreSQL database created on an `en_US.UTF-8` system (or with an ICU locale) compares
 * linguistically, ignoring case first and ranking punctuation apart, so `Node-2`, `node-10` and
 * `node_1` came back in another order, and a page of a listing held other machines. Giving the
 * columns the store sorts or pages by the `"C"` collation makes PostgreSQL sort them as SQLite
 * does, whatever the database's default; their indexes are rebuilt with it, so `ORDER BY` still
 * uses them. SQLite needs nothing.
 *
 * A table added later with a text column the store sorts by should declare it `collate "C"` on
 * PostgreSQL (`store/collation.contract.ts` checks the listings).
 */
import { sql, type Kysely, type Migration } from 'kysely';

/** Text columns that listings are ordered (or paged) by. */
const SORTED_COLUMNS: readonly (readonly [table: string, column: string])[] = [
  ['machines', 'hostname'],
  ['machines', 'id'],
  ['users', 'username'],
  ['racks', 'name'],
  ['subnets', 'cidr'],
  ['ip_reservations', 'ip'],
  ['boot_resources', 'os'],
  ['boot_resources', 'release'],
  ['boot_resources', 'arch'],
  ['machine_tags', 'tag'],
  ['machine_macs', 'mac'],
];

/** `0010_collation`: the sorted text columns use the `"C"` collation on PostgreSQL. */
export function collationMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      for (const [table, column] of SORTED_COLUMNS) {
        await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} type text collate "C"`.execute(
          db,
        );
      }
    },
  };
}
