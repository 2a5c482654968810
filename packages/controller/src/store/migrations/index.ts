/**
 * Versioned schema migrations, applied in name order by Kysely's `Migrator`. Migrations are
 * append-only: never edit one that has shipped; add the next. `dialect` lets a migration use
 * the one construct that differs between SQLite and PostgreSQL (auto-increment keys).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { maasAllocationNotes } from './0005-maas.ts';
import { passwordsMigration } from './0006-passwords.ts';
import { clusterMigration } from './0007-cluster.ts';
import { pkiMigration } from './0008-pki.ts';
import { authFailuresMigration } from './0009-auth-failures.ts';
import { blobsMigration } from './0010-blobs.ts';
import { collationMigration } from './0010-collation.ts';

/** The SQL dialects the store runs on. */
export type Dialect = 'sqlite' | 'postgres';

/** All migrations, keyed by name (names sort in apply order). */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'sqlite' ? 'integer' : 'bigserial';
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) =>
            c.notNull().references('users.id').onDelete('cascade'),
          )
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('machines')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('hostname', 'text', (c) => c.notNull().unique())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('arch', 'text', (c) => c.notNull())
          .addColumn('cpu_count', 'integer', (c) => c.notNull())
          .addColumn('memory_mib', 'bigint', (c) => c.notNull())
          .addColumn('storage_gib', 'bigint', (c) => c.notNull())
          .addColumn('zone', 'text', (c) => c.notNull())
          .addColumn('pool', 'text', (c) => c.notNull())
          .addColumn('owner_id', 'text')
          .addColumn('locked', 'integer', (c) => c.notNull())
          .addColumn('rack_id', 'text')
          .addColumn('power_type', 'text')
          .addColumn('power_params', 'text')
          .addColumn('power_state', 'text', (c) => c.notNull())
          .addColumn('power_seen_at', 'bigint')
          .addColumn('deployment', 'text')
          .addColumn('status_message', 'text', (c) => c.notNull())
          .addColumn('status_deadline', 'bigint')
          .addColumn('last_step', 'text')
          .addColumn('boot_purpose', 'text')
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('machines_status')
          .on('machines')
          .columns(['status', 'id'])
          .execute();
        await db.schema
          .createIndex('machines_deadline')
          .on('machines')
          .column('status_deadline')
          .execute();
        await db.schema
          .createTable('machine_macs')
          .addColumn('mac', 'text', (c) => c.primaryKey())
          .addColumn('machine_id', 'text', (c) =>
            c.notNull().references('machines.id').onDelete('cascade'),
          )
          .execute();
        await db.schema
          .createIndex('machine_macs_machine')
          .on('machine_macs')
          .column('machine_id')
          .execute();
        await db.schema
          .createTable('machine_tags')
          .addColumn('machine_id', 'text', (c) =>
            c.notNull().references('machines.id').onDelete('cascade'),
          )
          .addColumn('tag', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('machine_tags_pk', ['machine_id', 'tag'])
          .execute();
        await db.schema
          .createIndex('machine_tags_tag')
          .on('machine_tags')
          .columns(['tag', 'machine_id'])
          .execute();
        await db.schema
          .createTable('events')
          .addColumn('seq', sql.raw(serial), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('machine_id', 'text')
          .addColumn('rack_id', 'text')
          .addColumn('step', 'text', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('from_status', 'text')
          .addColumn('to_status', 'text')
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('occurred_at', 'bigint', (c) => c.notNull())
          .addColumn('recorded_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('events_machine')
          .on('events')
          .columns(['machine_id', 'seq'])
          .execute();
        await db.schema
          .createTable('racks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('hostname', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('interfaces', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint')
          .addColumn('connected', 'integer', (c) => c.notNull())
          .addColumn('health', 'text')
          .execute();
        await db.schema
          .createTable('enrollment_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema
          .createTable('rack_commands')
          .addColumn('seq', sql.raw(serial), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('rack_id', 'text', (c) => c.notNull())
          .addColumn('machine_id', 'text')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('acked_at', 'bigint')
          .execute();
        await db.schema
          .createIndex('rack_commands_pending')
          .on('rack_commands')
          .columns(['rack_id', 'acked_at', 'seq'])
          .execute();
      },
    },
    '0002_subnets': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('subnets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('cidr', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('gateway', 'text')
          .addColumn('dns_servers', 'text', (c) => c.notNull())
          .addColumn('dynamic_ranges', 'text', (c) => c.notNull())
          .addColumn('lease_seconds', 'integer', (c) => c.notNull())
          .addColumn('domain', 'text', (c) => c.notNull())
          .addColumn('dhcp_mode', 'text', (c) => c.notNull())
          .addColumn('rack_id', 'text')
          .addColumn('interface', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('ip_reservations')
          .addColumn('mac', 'text', (c) => c.primaryKey())
          .addColumn('ip', 'text', (c) => c.notNull().unique())
          .addColumn('subnet_id', 'text', (c) =>
            c.notNull().references('subnets.id').onDelete('cascade'),
          )
          .addColumn('hostname', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .alterTable('racks')
          .addColumn('network_config_version', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0003_boot_resources': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('boot_resources')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('os', 'text', (c) => c.notNull())
          .addColumn('release', 'text', (c) => c.notNull())
          .addColumn('arch', 'text', (c) => c.notNull())
          .addColumn('files', 'text', (c) => c.notNull())
          .addColumn('kernel_params', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('boot_resources_name', ['os', 'release', 'arch'])
          .execute();
      },
    },
    '0004_metadata_and_keys': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('ssh_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) =>
            c.notNull().references('users.id').onDelete('cascade'),
          )
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('comment', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('ssh_keys_user_fingerprint', ['user_id', 'fingerprint'])
          .execute();
        await db.schema
          .createTable('metadata_tokens')
          .addColumn('machine_id', 'text', (c) =>
            c.primaryKey().references('machines.id').onDelete('cascade'),
          )
          .addColumn('consumer_key', 'text', (c) => c.notNull())
          .addColumn('token_key', 'text', (c) => c.notNull().unique())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('issued_at', 'bigint', (c) => c.notNull())
          .execute();
        // Disks and NICs found by commissioning (JSON lists), beside the machine's own row.
        await db.schema
          .createTable('machine_hardware')
          .addColumn('machine_id', 'text', (c) =>
            c.primaryKey().references('machines.id').onDelete('cascade'),
          )
          .addColumn('disks', 'text', (c) => c.notNull())
          .addColumn('nics', 'text', (c) => c.notNull())
          .addColumn('recorded_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0005_maas': maasAllocationNotes,
    '0006_passwords': passwordsMigration,
    '0007_cluster': clusterMigration,
    '0008_pki': pkiMigration,
    '0009_auth_failures': authFailuresMigration,
    '0010_blobs': blobsMigration(dialect),
    '0010_collation': collationMigration(dialect),
  };
}
