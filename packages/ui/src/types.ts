/**
 * The controller's JSON shapes, as the UI reads them (`/api/v1`, `/ws`). Hand-written from the
 * OpenAPI document (`/api/v1/openapi.json`); only the fields the UI shows.
 */

import type { MachineStatus } from '@ingot/common/machine-status';

// Machine statuses (DESIGN.md §2), the controller's own list.
export { MACHINE_STATUSES, type MachineStatus } from '@ingot/common/machine-status';

/** A machine. */
export interface Machine {
  readonly id: string;
  readonly hostname: string;
  readonly status: MachineStatus;
  readonly status_message: string;
  readonly arch: string;
  readonly cpu_count: number;
  readonly memory_mib: number;
  readonly storage_gib: number;
  readonly macs: readonly string[];
  readonly tags: readonly string[];
  readonly zone: string;
  readonly pool: string;
  readonly owner: string | null;
  readonly locked: boolean;
  readonly rack_id: string | null;
  readonly power: {
    readonly type: string | null;
    readonly state: string;
    readonly seen_at: string | null;
  };
  readonly deployment: {
    readonly os: string;
    readonly release: string;
    readonly kernel: string | null;
    readonly ephemeral: boolean;
    readonly has_user_data: boolean;
    readonly erase: 'quick' | 'full' | null;
  } | null;
  readonly last_step: {
    readonly step: string;
    readonly result: string;
    readonly message: string;
    readonly at: string | null;
  } | null;
  readonly status_deadline: string | null;
  readonly updated_at: string | null;
}

/** Step results. */
export type StepResult = 'started' | 'succeeded' | 'failed' | 'info';

/** An event (REST and `/ws` alike). */
export interface IngotEvent {
  readonly seq: number;
  readonly id: string;
  readonly kind: 'transition' | 'step' | 'power' | 'audit';
  readonly machine_id: string | null;
  readonly rack_id: string | null;
  readonly step: string;
  readonly result: StepResult;
  readonly from_status: string | null;
  readonly to_status: string | null;
  readonly actor: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly occurred_at: string | null;
  readonly recorded_at: string | null;
}

/** A rack. */
export interface Rack {
  readonly id: string;
  readonly name: string;
  readonly hostname: string;
  readonly version: string;
  readonly status: 'healthy' | 'stale' | 'disconnected';
  readonly last_heartbeat: string | null;
  readonly interfaces: readonly { name: string; mac: string; cidrs: readonly string[] }[];
  readonly health: {
    readonly uptime_seconds: number;
    readonly outbox_depth: number;
    readonly boot_plans: number;
    readonly rss_bytes: number;
    readonly services: Readonly<Record<string, string>>;
  } | null;
  /** The controller holding the rack's session (several controllers on one database). */
  readonly controller: {
    readonly id: string;
    readonly name: string;
    readonly lease_expires_at: string;
  } | null;
  /** When an admin revoked the rack; null while it may connect. */
  readonly revoked_at: string | null;
}

/** A rack with its image cache, as `GET /racks/{id}` shows it. */
export interface RackDetail extends Rack {
  readonly image_cache: {
    readonly capacity_bytes: number;
    readonly used_bytes: number;
    readonly reported_at: string;
    readonly files: readonly { sha256: string; size_bytes: number; last_used: string }[];
  } | null;
}

/** A boot resource (image). */
export interface Image {
  readonly id: string;
  readonly os: string;
  readonly release: string;
  readonly arch: string;
  readonly files: readonly {
    role: string;
    sha256: string;
    size_bytes: number;
    name: string;
    format: string | null;
  }[];
  readonly kernel_params: string;
  readonly created_at: string;
}

/** A user. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly role: 'admin' | 'user';
}
