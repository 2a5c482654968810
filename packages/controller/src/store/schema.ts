/**
 * Table types for Kysely. Columns are plain SQL types shared by SQLite and PostgreSQL: text,
 * integers (milliseconds since the epoch for times) and JSON stored as text.
 */
import type { Generated } from 'kysely';

/** The controller's tables. */
export interface Database {
  users: { id: string; username: string; role: string; created_at: number };
  api_keys: {
    id: string;
    user_id: string;
    secret_hash: string;
    name: string;
    created_at: number;
  };
  machines: {
    id: string;
    hostname: string;
    status: string;
    arch: string;
    cpu_count: number;
    memory_mib: number;
    storage_gib: number;
    zone: string;
    pool: string;
    owner_id: string | null;
    locked: number;
    rack_id: string | null;
    power_type: string | null;
    power_params: string | null;
    power_state: string;
    power_seen_at: number | null;
    deployment: string | null;
    status_message: string;
    status_deadline: number | null;
    last_step: string | null;
    boot_purpose: string | null;
    version: number;
    created_at: number;
    updated_at: number;
  };
  machine_macs: { mac: string; machine_id: string };
  machine_tags: { machine_id: string; tag: string };
  events: {
    seq: Generated<number>;
    id: string;
    kind: string;
    machine_id: string | null;
    rack_id: string | null;
    step: string;
    result: string;
    from_status: string | null;
    to_status: string | null;
    actor: string;
    message: string;
    data: string;
    occurred_at: number;
    recorded_at: number;
  };
  racks: {
    id: string;
    name: string;
    secret_hash: string;
    hostname: string;
    version: string;
    interfaces: string;
    created_at: number;
    last_seen_at: number | null;
    connected: number;
    health: string | null;
    network_config_version: Generated<number>;
    /** When the rack was revoked (migration 0008); null while it may connect. */
    revoked_at: number | null;
  };
  subnets: {
    id: string;
    cidr: string;
    name: string;
    gateway: string | null;
    dns_servers: string;
    dynamic_ranges: string;
    lease_seconds: number;
    domain: string;
    dhcp_mode: string;
    rack_id: string | null;
    interface: string | null;
    created_at: number;
  };
  boot_resources: {
    id: string;
    os: string;
    release: string;
    arch: string;
    files: string;
    kernel_params: string;
    created_at: number;
  };
  ip_reservations: {
    mac: string;
    ip: string;
    subnet_id: string;
    hostname: string | null;
    created_at: number;
  };
  enrollment_tokens: {
    token_hash: string;
    created_by: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
  };
  user_passwords: { user_id: string; hash: string; updated_at: number };
  /** Which controller holds each rack's session (migration 0007, several controllers). */
  rack_sessions: {
    rack_id: string;
    controller_id: string;
    controller_name: string;
    session_id: string;
    started_at: number;
    renewed_at: number;
    expires_at: number;
  };
  /** The rack CA (migration 0008): certificate and sealed private key, one row per name. */
  certificate_authorities: {
    name: string;
    cert_pem: string;
    key_sealed: string;
    created_at: number;
  };
  /** Brute-force counters (migration 0009): failures per key in a fixed window. */
  auth_failures: { key: string; failures: number; window_start: number; expires_at: number };
  allocation_notes: { machine_id: string; agent_name: string | null; owner_data: string };
  ssh_keys: {
    id: string;
    user_id: string;
    key: string;
    fingerprint: string;
    comment: string;
    created_at: number;
  };
  metadata_tokens: {
    machine_id: string;
    consumer_key: string;
    token_key: string;
    secret_hash: string;
    issued_at: number;
  };
  machine_hardware: { machine_id: string; disks: string; nics: string; recorded_at: number };
  rack_commands: {
    seq: Generated<number>;
    id: string;
    rack_id: string;
    machine_id: string | null;
    kind: string;
    body: string;
    created_at: number;
    acked_at: number | null;
  };
  /** Image files kept in the database (PostgreSQL controllers): one row per stored blob. */
  blobs: {
    sha256: string;
    upload_id: string;
    size_bytes: number;
    chunk_bytes: number;
    created_at: number;
  };
  /** The bytes of `blobs`, `chunk_bytes` per row in `idx` order. */
  blob_chunks: { upload_id: string; idx: number; data: Uint8Array };
}
