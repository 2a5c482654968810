/**
 * What route handlers share: the services, the typed Hono environment, and small helpers for
 * declaring routes in the OpenAPI document.
 */
import type { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Clock } from '@ingot/common';
import type { Actor } from '../app/actor.ts';
import type { MachineService } from '../app/machine-service.ts';
import type { Store } from '../app/ports.ts';
import type { RackService } from '../app/rack-service.ts';
import type { UserService } from '../app/user-service.ts';
import type { SubnetService } from '../app/subnet-service.ts';
import type { ImageService } from '../app/image-service.ts';
import type { SshKeyService } from '../app/ssh-key-service.ts';
import type { MetadataService } from '../app/metadata-service.ts';
import type { AllocationNoteService } from '../app/allocation-note-service.ts';
import type { SessionService } from '../app/session-service.ts';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import type { User } from '../domain/user.ts';
import type { ControllerMetrics } from '../metrics/controller-metrics.ts';
import { ProblemDto } from './dto.ts';

/** Services the API needs. */
export interface ApiDeps {
  readonly machines: MachineService;
  readonly racks: RackService;
  readonly users: UserService;
  readonly subnets: SubnetService;
  readonly images: ImageService;
  readonly sshKeys: SshKeyService;
  /** The machine-facing metadata service (`/MAAS/metadata`, OAuth, not API keys). */
  readonly metadata: MetadataService;
  /** Allocation notes (MAAS `agent_name`, `owner_data`). */
  readonly allocationNotes: AllocationNoteService;
  /**
   * Read-only queries (event listing; the hardware and reservations the MAAS machine shape
   * shows) go straight to the store port.
   */
  readonly store: Pick<
    Store,
    'listEvents' | 'getMachineHardware' | 'listMachineHardware' | 'listReservations' | 'cluster'
  >;
  readonly clock: Clock;
  readonly heartbeatIntervalMs: number;
  /** Largest accepted request body. */
  readonly maxBodyBytes: number;
  /** Prometheus metrics, served unauthenticated at `/metrics` (docs/metrics.md). */
  readonly metrics?: ControllerMetrics | undefined;
  /** Password sign-in and session keys for the web UI. */
  readonly sessions: SessionService;
  /** Brute-force limits for every credential (`app/auth-limiter.ts`). */
  readonly authLimiter: AuthLimiter;
  /** The built web UI (`packages/ui/dist` by default). */
  readonly uiDir?: string | undefined;
}

/** Hono environment: the authenticated user, set by the auth middleware. */
export interface ApiEnv {
  Variables: { user: User; actor: Actor; requestId: string };
}

/** The typed app routes are registered on. */
export type ApiApp = OpenAPIHono<ApiEnv>;

/** A JSON response entry for `createRoute`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** A JSON request body entry for `createRoute`. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { required: true, content: { 'application/json': { schema } } } } as const;
}

const problemResponse = (description: string) =>
  ({ description, content: { 'application/problem+json': { schema: ProblemDto } } }) as const;

/** The error responses every authenticated route may give. */
export const ERRORS = {
  400: problemResponse('Invalid request'),
  401: problemResponse('Missing or wrong API key'),
  403: problemResponse('Not allowed'),
  404: problemResponse('Not found'),
  409: problemResponse('Conflicts with the current state'),
  413: problemResponse('Request body too large'),
  429: problemResponse(
    'Too many failed authentication attempts from this address; see Retry-After',
  ),
} as const;

/** Maps user ids to user names, for `owner` fields. */
export async function ownerNames(deps: ApiDeps, actor: Actor): Promise<Map<string, string>> {
  return new Map(
    (
      await deps.users.list(
        actor.kind === 'user' && actor.user.role === 'admin' ? actor : { kind: 'system' },
      )
    ).map((u) => [u.id, u.username]),
  );
}
