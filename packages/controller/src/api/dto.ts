/**
 * The API's JSON shapes (snake_case, times as ISO 8601) and their zod schemas, which both
 * validate requests and generate the OpenAPI document. Request schemas are strict: an unknown
 * field is an error, not silently ignored.
 */
import { z } from '@hono/zod-openapi';
import { STEP_RESULTS } from '@ingot/common';
import { EVENT_KINDS, type EventRecord } from '../domain/event.ts';
import { MACHINE_STATUSES } from '../domain/machine/lifecycle.ts';
import { ARCHITECTURES, type Machine } from '../domain/machine/machine.ts';
import { rackStatus, type Rack } from '../domain/rack.ts';
import { ROLES, type User } from '../domain/user.ts';
import type { RackSessionLease } from '../app/cluster-store.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const Mac = z
  .string()
  .regex(/^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/, 'a MAC address such as 52:54:00:12:34:56')
  .openapi({ example: '52:54:00:12:34:56' });
const Name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ -');

/** Power settings as given on create/update. `params` may hold secrets and is never returned. */
export const PowerInput = z
  .object({
    type: z.string().min(1).max(32),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** `POST /machines` body. */
export const CreateMachineBody = z
  .object({
    hostname: z.string().min(1).max(253).optional(),
    arch: z.enum(ARCHITECTURES).default('amd64'),
    macs: z.array(Mac).min(1).max(32),
    cpu_count: z.number().int().min(0).max(100_000).optional(),
    memory_mib: z
      .number()
      .int()
      .min(0)
      .max(1 << 30)
      .optional(),
    storage_gib: z
      .number()
      .int()
      .min(0)
      .max(1 << 30)
      .optional(),
    tags: z.array(Name).max(64).optional(),
    zone: Name.optional(),
    pool: Name.optional(),
    power: PowerInput.optional(),
    rack: z.string().min(1).max(64).optional(),
    commission: z.boolean().default(true),
  })
  .strict()
  .openapi('CreateMachine');

/** `PATCH /machines/{id}` body. */
export const UpdateMachineBody = z
  .object({
    hostname: z.string().min(1).max(253),
    arch: z.enum(ARCHITECTURES),
    macs: z.array(Mac).min(1).max(32),
    cpu_count: z.number().int().min(0).max(100_000),
    memory_mib: z
      .number()
      .int()
      .min(0)
      .max(1 << 30),
    storage_gib: z
      .number()
      .int()
      .min(0)
      .max(1 << 30),
    tags: z.array(Name).max(64),
    zone: Name,
    pool: Name,
    power: PowerInput,
    rack: z.string().min(1).max(64),
  })
  .partial()
  .strict()
  .openapi('UpdateMachine');

/** `POST /machines/allocate` body: constraints (DESIGN.md §2). */
export const AllocateBody = z
  .object({
    name: z.string().min(1).max(253).openapi({ description: 'the hostname or the id' }),
    system_id: z
      .string()
      .min(1)
      .max(253)
      .openapi({ description: 'the id only (MAAS `system_id`); with `name`, both must match' }),
    arch: z.enum(ARCHITECTURES),
    cpu_count: z.number().int().min(0),
    mem: z.number().int().min(0).openapi({ description: 'minimum memory, MiB' }),
    storage: z.number().int().min(0).openapi({ description: 'minimum storage, GiB' }),
    tags: z.array(Name).max(64),
    not_tags: z.array(Name).max(64),
    zone: Name,
    pool: Name,
    not_in_zone: z.array(Name).max(64).openapi({ description: 'zones the machine must not be in' }),
    not_in_pool: z.array(Name).max(64).openapi({ description: 'pools the machine must not be in' }),
  })
  .partial()
  .strict()
  .openapi('AllocateConstraints');

/** `POST /machines/{id}/deploy` body. */
export const DeployBody = z
  .object({
    os: z.string().min(1).max(64).default('debian'),
    release: z.string().min(1).max(64).default('bookworm'),
    kernel: z.string().min(1).max(128).optional(),
    user_data: z
      .string()
      .max(1 << 20)
      .optional(),
    ephemeral: z.boolean().default(false),
    customisation: z
      .object({
        packages: z
          .array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'a Debian package name'))
          .max(200)
          .default([]),
        commands: z.array(z.string().min(1).max(4096)).max(100).default([]),
        files: z
          .array(
            z
              .object({
                path: z
                  .string()
                  .regex(/^\/[^\0]*$/, 'an absolute path')
                  .max(1024)
                  .refine((p) => !p.split('/').includes('..'), 'no .. segments'),
                content_base64: z.base64().max(1 << 20),
                mode: z
                  .string()
                  .regex(/^0?[0-7]{3}$/, 'octal permission bits such as 0644')
                  .default('0644'),
              })
              .strict(),
          )
          .max(100)
          .default([]),
      })
      .strict()
      .optional()
      .openapi({
        description:
          'Changes the installer applies to the installed OS: files are written, then packages installed, then commands run (in the installed OS, as root)',
      }),
  })
  .strict()
  .openapi('Deploy');

/** `POST /machines/{id}/release` body. */
export const ReleaseBody = z
  .object({
    comment: z.string().max(1024).optional(),
    erase: z.enum(['none', 'quick', 'full']).default('none').openapi({
      description:
        '`quick` wipes partition tables and filesystem signatures, `full` overwrites every byte; the machine boots the ephemeral environment to do it',
    }),
  })
  .strict()
  .openapi('Release');

/** Bodies of actions that take only a comment. */
export const CommentBody = z.object({ comment: z.string().max(1024).optional() }).strict();

/** `POST /machines/{id}/power` body. */
export const PowerBody = z.object({ action: z.enum(['on', 'off', 'cycle']) }).strict();

/** `POST /users` body. */
export const CreateUserBody = z
  .object({ username: z.string().min(1).max(63), role: z.enum(ROLES).default('user') })
  .strict();

/** A machine as the API shows it. */
export const MachineDto = z
  .object({
    id: z.string(),
    hostname: z.string(),
    status: z.enum(MACHINE_STATUSES),
    status_message: z.string(),
    arch: z.enum(ARCHITECTURES),
    cpu_count: z.number(),
    memory_mib: z.number(),
    storage_gib: z.number(),
    macs: z.array(z.string()),
    tags: z.array(z.string()),
    zone: z.string(),
    pool: z.string(),
    owner: z.string().nullable(),
    locked: z.boolean(),
    rack_id: z.string().nullable(),
    power: z.object({
      type: z.string().nullable(),
      state: z.string(),
      seen_at: z.string().nullable(),
    }),
    deployment: z
      .object({
        os: z.string(),
        release: z.string(),
        kernel: z.string().nullable(),
        ephemeral: z.boolean(),
        has_user_data: z.boolean(),
        erase: z.enum(['quick', 'full']).nullable(),
      })
      .nullable(),
    last_step: z
      .object({
        step: z.string(),
        result: z.string(),
        message: z.string(),
        at: z.string().nullable(),
      })
      .nullable(),
    boot_purpose: z.string().nullable(),
    status_deadline: z.string().nullable(),
    version: z.number(),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi('Machine');

/** Converts a machine. `owners` maps user ids to names. Power parameters are never included. */
export function machineDto(
  m: Machine,
  owners: ReadonlyMap<string, string>,
): z.infer<typeof MachineDto> {
  return {
    id: m.id,
    hostname: m.hostname,
    status: m.status,
    status_message: m.statusMessage,
    arch: m.arch,
    cpu_count: m.cpuCount,
    memory_mib: m.memoryMib,
    storage_gib: m.storageGib,
    macs: [...m.macs],
    tags: [...m.tags],
    zone: m.zone,
    pool: m.pool,
    owner: m.ownerId === null ? null : (owners.get(m.ownerId) ?? m.ownerId),
    locked: m.locked,
    rack_id: m.rackId,
    power: { type: m.power?.type ?? null, state: m.powerState, seen_at: iso(m.powerSeenAtMs) },
    deployment:
      m.deployment === null
        ? null
        : {
            os: m.deployment.os,
            release: m.deployment.release,
            kernel: m.deployment.kernel,
            ephemeral: m.deployment.ephemeral,
            has_user_data: m.deployment.userData !== null,
            erase: m.deployment.erase ?? null,
          },
    last_step:
      m.lastStep === null
        ? null
        : {
            step: m.lastStep.step,
            result: m.lastStep.result,
            message: m.lastStep.message,
            at: iso(m.lastStep.atMs),
          },
    boot_purpose: m.bootPurpose,
    status_deadline: iso(m.statusDeadlineMs),
    version: m.version,
    created_at: iso(m.createdAtMs),
    updated_at: iso(m.updatedAtMs),
  };
}

/** An event as the API and `/ws` show it. */
export const EventDto = z
  .object({
    seq: z.number(),
    id: z.string(),
    kind: z.enum(EVENT_KINDS),
    machine_id: z.string().nullable(),
    rack_id: z.string().nullable(),
    step: z.string(),
    result: z.enum(STEP_RESULTS),
    from_status: z.string().nullable(),
    to_status: z.string().nullable(),
    actor: z.string(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()),
    occurred_at: z.string().nullable(),
    recorded_at: z.string().nullable(),
  })
  .openapi('Event');

/** Converts an event. */
export function eventDto(e: EventRecord): z.infer<typeof EventDto> {
  return {
    seq: e.seq,
    id: e.id,
    kind: e.kind,
    machine_id: e.machineId,
    rack_id: e.rackId,
    step: e.step,
    result: e.result,
    from_status: e.fromStatus,
    to_status: e.toStatus,
    actor: e.actor,
    message: e.message,
    data: { ...e.data },
    occurred_at: iso(e.occurredAtMs),
    recorded_at: iso(e.recordedAtMs),
  };
}

/** A rack as the API shows it. */
export const RackDto = z
  .object({
    id: z.string(),
    name: z.string(),
    hostname: z.string(),
    version: z.string(),
    status: z.enum(['healthy', 'stale', 'disconnected']),
    last_heartbeat: z.string().nullable(),
    interfaces: z.array(
      z.object({ name: z.string(), mac: z.string(), cidrs: z.array(z.string()) }),
    ),
    health: z
      .object({
        uptime_seconds: z.number(),
        outbox_depth: z.number(),
        boot_plans: z.number(),
        rss_bytes: z.number(),
        services: z.record(z.string(), z.string()),
      })
      .nullable(),
    created_at: z.string().nullable(),
    /**
     * The controller holding the rack's session (several controllers on one database), or null
     * when no controller holds a live lease.
     */
    controller: z
      .object({ id: z.string(), name: z.string(), lease_expires_at: z.string() })
      .nullable(),
    /** When an admin revoked the rack (its sessions are refused); null while it may connect. */
    revoked_at: z.string().nullable(),
  })
  .openapi('Rack');

/** Converts a rack. */
export function rackDto(
  r: Rack,
  nowMs: number,
  heartbeatIntervalMs: number,
  session?: RackSessionLease,
): z.infer<typeof RackDto> {
  return {
    id: r.id,
    name: r.name,
    hostname: r.hostname,
    version: r.version,
    status: rackStatus(r, nowMs, heartbeatIntervalMs),
    last_heartbeat: iso(r.lastSeenAtMs),
    interfaces: r.interfaces.map((i) => ({ name: i.name, mac: i.mac, cidrs: [...i.cidrs] })),
    health:
      r.health === null
        ? null
        : {
            uptime_seconds: r.health.uptimeSeconds,
            outbox_depth: r.health.outboxDepth,
            boot_plans: r.health.bootPlans,
            rss_bytes: r.health.rssBytes,
            services: { ...r.health.services },
          },
    created_at: iso(r.createdAtMs),
    controller:
      session === undefined || session.expiresAtMs <= nowMs
        ? null
        : {
            id: session.controllerId,
            name: session.controllerName,
            lease_expires_at: new Date(session.expiresAtMs).toISOString(),
          },
    revoked_at: iso(r.revokedAtMs ?? null),
  };
}

/** A user as the API shows it. */
export const UserDto = z
  .object({
    id: z.string(),
    username: z.string(),
    role: z.enum(ROLES),
    created_at: z.string().nullable(),
  })
  .openapi('User');

/** Converts a user. */
export function userDto(u: User): z.infer<typeof UserDto> {
  return { id: u.id, username: u.username, role: u.role, created_at: iso(u.createdAtMs) };
}

/** The RFC 9457 problem document schema, for the OpenAPI document. */
export const ProblemDto = z
  .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string() })
  .catchall(z.unknown())
  .openapi('Problem');
