/**
 * The REST API over a {@link ServiceFixture}, as API tests build it, with the lines it logs kept
 * for inspection.
 */
import { createJsonLogger } from '@ingot/common';
import { createApi } from '../api/app.ts';
import type { ApiApp } from '../api/context.ts';
import { SessionService } from '../app/session-service.ts';
import { AuthLimiter } from '../app/auth-limiter.ts';
import type { ServiceFixture } from './service-fixture.ts';
import { AllocationNoteService } from '../app/allocation-note-service.ts';

/** Options of {@link createTestApi}. */
export interface TestApiOptions {
  /** Largest accepted request body; default 4096. */
  readonly maxBodyBytes?: number | undefined;
  /** Default 5000. */
  readonly heartbeatIntervalMs?: number | undefined;
  /** The built web UI to serve at `/`; default `packages/ui/dist`. */
  readonly uiDir?: string | undefined;
}

/** The app and what it logged at `error` level (an unhandled error in a handler, say). */
export interface TestApi {
  readonly api: ApiApp;
  readonly logLines: string[];
}

/** Builds the API on the fixture's services and store. Opens no ports; never fails. */
export function createTestApi(fixture: ServiceFixture, options: TestApiOptions = {}): TestApi {
  const logLines: string[] = [];
  const authLimiter = new AuthLimiter({
    store: fixture.store,
    bus: fixture.bus,
    clock: fixture.clock,
  });
  const api = createApi(
    {
      machines: fixture.machines,
      racks: fixture.racks,
      users: fixture.users,
      subnets: fixture.subnets,
      images: fixture.images,
      sshKeys: fixture.sshKeys,
      metadata: fixture.metadata,
      allocationNotes: new AllocationNoteService({
        store: fixture.store,
        bus: fixture.bus,
        clock: fixture.clock,
      }),
      store: fixture.store,
      clock: fixture.clock,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5_000,
      maxBodyBytes: options.maxBodyBytes ?? 4_096,
      sessions: new SessionService({
        store: fixture.store,
        bus: fixture.bus,
        clock: fixture.clock,
        limiter: authLimiter,
      }),
      authLimiter,
      uiDir: options.uiDir,
    },
    createJsonLogger((line) => logLines.push(line), 'error'),
  );
  return { api, logLines };
}

/** The response body parsed as JSON, typed as the caller expects (unchecked). */
export async function readJson<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
