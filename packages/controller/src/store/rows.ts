/* eslint-disable @typescript-eslint/no-unnecessary-type-conversion --
   Number() stays on integer columns: PostgreSQL's driver returns bigint columns as strings. */
/**
 * Row ⇄ domain conversion for the SQL store. Rows come from the database, so they are checked
 * (a corrupt status is a bug and throws) rather than trusted.
 */
import type { Selectable } from 'kysely';
import type { EventRecord } from '../domain/event.ts';
import { EVENT_KINDS, type EventKind } from '../domain/event.ts';
import {
  isMachineStatus,
  BOOT_PURPOSES,
  type BootPurpose,
  type MachineStatus,
} from '../domain/machine/lifecycle.ts';
import {
  ARCHITECTURES,
  type Architecture,
  type Machine,
  type PowerState,
} from '../domain/machine/machine.ts';
import type { Rack, RackCommand, RackCommandBody } from '../domain/rack.ts';
import {
  DHCP_MODES,
  type DhcpMode,
  type Reservation,
  type Subnet,
} from '../domain/network/subnet.ts';
import { ROLES, type Role, type User } from '../domain/user.ts';
import { STEP_RESULTS, type StepResult } from '@ingot/common';
import type { Database } from './schema.ts';

function oneOf<T extends string>(values: readonly T[], value: string, what: string): T {
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new Error(`corrupt ${what} in store: ${JSON.stringify(value)}`);
}

function status(value: string): MachineStatus {
  if (isMachineStatus(value)) return value;
  throw new Error(`corrupt machine status in store: ${JSON.stringify(value)}`);
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the stored shape
function json<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

const POWER_STATES: readonly PowerState[] = ['on', 'off', 'unknown', 'error'];

/** Converts a machine row plus its MACs and tags. */
export function machineFromRow(
  row: Selectable<Database['machines']>,
  macs: readonly string[],
  tags: readonly string[],
): Machine {
  return {
    id: row.id,
    hostname: row.hostname,
    status: status(row.status),
    arch: oneOf<Architecture>(ARCHITECTURES, row.arch, 'arch'),
    cpuCount: Number(row.cpu_count),
    memoryMib: Number(row.memory_mib),
    storageGib: Number(row.storage_gib),
    macs: [...macs].sort(),
    tags: [...tags].sort(),
    zone: row.zone,
    pool: row.pool,
    ownerId: row.owner_id,
    locked: Number(row.locked) === 1,
    rackId: row.rack_id,
    power:
      row.power_type === null
        ? null
        : { type: row.power_type, params: json<Record<string, unknown>>(row.power_params) ?? {} },
    powerState: oneOf<PowerState>(POWER_STATES, row.power_state, 'power state'),
    powerSeenAtMs: row.power_seen_at === null ? null : Number(row.power_seen_at),
    deployment: json(row.deployment),
    statusMessage: row.status_message,
    statusDeadlineMs: row.status_deadline === null ? null : Number(row.status_deadline),
    lastStep: json(row.last_step),
    bootPurpose:
      row.boot_purpose === null
        ? null
        : oneOf<BootPurpose>(BOOT_PURPOSES, row.boot_purpose, 'boot purpose'),
    version: Number(row.version),
    createdAtMs: Number(row.created_at),
    updatedAtMs: Number(row.updated_at),
  };
}

/** Converts the scalar columns of a machine (everything but MACs and tags) to a row. */
export function machineColumns(
  m: Partial<Omit<Machine, 'macs' | 'tags'>>,
): Partial<Database['machines']> {
  const row: Partial<Database['machines']> = {};
  if (m.id !== undefined) row.id = m.id;
  if (m.hostname !== undefined) row.hostname = m.hostname;
  if (m.status !== undefined) row.status = m.status;
  if (m.arch !== undefined) row.arch = m.arch;
  if (m.cpuCount !== undefined) row.cpu_count = m.cpuCount;
  if (m.memoryMib !== undefined) row.memory_mib = m.memoryMib;
  if (m.storageGib !== undefined) row.storage_gib = m.storageGib;
  if (m.zone !== undefined) row.zone = m.zone;
  if (m.pool !== undefined) row.pool = m.pool;
  if (m.ownerId !== undefined) row.owner_id = m.ownerId;
  if (m.locked !== undefined) row.locked = m.locked ? 1 : 0;
  if (m.rackId !== undefined) row.rack_id = m.rackId;
  if (m.power !== undefined) {
    row.power_type = m.power?.type ?? null;
    row.power_params = m.power === null ? null : JSON.stringify(m.power.params);
  }
  if (m.powerState !== undefined) row.power_state = m.powerState;
  if (m.powerSeenAtMs !== undefined) row.power_seen_at = m.powerSeenAtMs;
  if (m.deployment !== undefined)
    row.deployment = m.deployment === null ? null : JSON.stringify(m.deployment);
  if (m.statusMessage !== undefined) row.status_message = m.statusMessage;
  if (m.statusDeadlineMs !== undefined) row.status_deadline = m.statusDeadlineMs;
  if (m.lastStep !== undefined)
    row.last_step = m.lastStep === null ? null : JSON.stringify(m.lastStep);
  if (m.bootPurpose !== undefined) row.boot_purpose = m.bootPurpose;
  if (m.version !== undefined) row.version = m.version;
  if (m.createdAtMs !== undefined) row.created_at = m.createdAtMs;
  if (m.updatedAtMs !== undefined) row.updated_at = m.updatedAtMs;
  return row;
}

/** Converts an event row. */
export function eventFromRow(row: Selectable<Database['events']>): EventRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    kind: oneOf<EventKind>(EVENT_KINDS, row.kind, 'event kind'),
    machineId: row.machine_id,
    rackId: row.rack_id,
    step: row.step,
    result: oneOf<StepResult>(STEP_RESULTS, row.result, 'event result'),
    fromStatus: row.from_status === null ? null : status(row.from_status),
    toStatus: row.to_status === null ? null : status(row.to_status),
    actor: row.actor,
    message: row.message,
    data: json<Record<string, unknown>>(row.data) ?? {},
    occurredAtMs: Number(row.occurred_at),
    recordedAtMs: Number(row.recorded_at),
  };
}

/** Converts a user row. */
export function userFromRow(row: Selectable<Database['users']>): User {
  return {
    id: row.id,
    username: row.username,
    role: oneOf<Role>(ROLES, row.role, 'role'),
    createdAtMs: Number(row.created_at),
  };
}

/** Converts a rack row. */
export function rackFromRow(row: Selectable<Database['racks']>): Rack {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    hostname: row.hostname,
    version: row.version,
    interfaces: json<Rack['interfaces']>(row.interfaces) ?? [],
    createdAtMs: Number(row.created_at),
    lastSeenAtMs: row.last_seen_at === null ? null : Number(row.last_seen_at),
    connected: Number(row.connected) === 1,
    health: json(row.health),
    networkConfigVersion: Number(row.network_config_version),
    ...(row.revoked_at === null ? {} : { revokedAtMs: Number(row.revoked_at) }),
  };
}

/** Converts a rack command row. */
export function commandFromRow(row: Selectable<Database['rack_commands']>): RackCommand {
  return {
    seq: Number(row.seq),
    id: row.id,
    rackId: row.rack_id,
    machineId: row.machine_id,
    body: JSON.parse(row.body) as RackCommandBody,
    createdAtMs: Number(row.created_at),
    ackedAtMs: row.acked_at === null ? null : Number(row.acked_at),
  };
}

/** Converts a subnet row. */
export function subnetFromRow(row: Selectable<Database['subnets']>): Subnet {
  return {
    id: row.id,
    cidr: row.cidr,
    name: row.name,
    gateway: row.gateway,
    dnsServers: json<string[]>(row.dns_servers) ?? [],
    dynamicRanges: json<Subnet['dynamicRanges']>(row.dynamic_ranges) ?? [],
    leaseSeconds: Number(row.lease_seconds),
    domain: row.domain,
    dhcpMode: oneOf<DhcpMode>(DHCP_MODES, row.dhcp_mode, 'dhcp mode'),
    rackId: row.rack_id,
    interface: row.interface,
    createdAtMs: Number(row.created_at),
  };
}

/** Converts a subnet to a row. */
export function subnetToRow(s: Subnet): Database['subnets'] {
  return {
    id: s.id,
    cidr: s.cidr,
    name: s.name,
    gateway: s.gateway,
    dns_servers: JSON.stringify(s.dnsServers),
    dynamic_ranges: JSON.stringify(s.dynamicRanges),
    lease_seconds: s.leaseSeconds,
    domain: s.domain,
    dhcp_mode: s.dhcpMode,
    rack_id: s.rackId,
    interface: s.interface,
    created_at: s.createdAtMs,
  };
}

/** Converts a reservation row. */
export function reservationFromRow(row: Selectable<Database['ip_reservations']>): Reservation {
  return {
    mac: row.mac,
    ip: row.ip,
    subnetId: row.subnet_id,
    hostname: row.hostname,
    createdAtMs: Number(row.created_at),
  };
}
