/**
 * Test fixture: the real gRPC rack server over a stand-in rack service, and one real client
 * session for rack `rack-1` (plaintext, no certificate check: the stand-in authenticates
 * anyone). For tests of what the server sends on a session; each message is handed to
 * `onMessage`. Everything it opens is closed by the `cleanups` the caller runs.
 */
import { credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { ok, silentLogger } from '@ingot/common';
import { RackServiceClient, SessionRequest, type SessionResponse } from '@ingot/proto/rack/v1';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import type { RackService } from '../app/rack-service.ts';
import type { SecretBox } from '../app/secret-box.ts';
import { startRackServer, type RackServerHandle } from './rack-server.ts';

export const STAND_IN_RACK = 'rack-1';

/** Polls `check` every 10 ms for at most 5 s. */
export async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts the server with `racks` (the methods the test needs; authentication, session changes
 * and "may connect" are filled in), opens a session and says hello.
 */
export async function openStandInSession(
  racks: Partial<Record<keyof RackService, unknown>>,
  onMessage: (message: SessionResponse) => void,
  cleanups: (() => Promise<void> | void)[],
): Promise<{
  server: RackServerHandle;
  call: ClientDuplexStream<SessionRequest, SessionResponse>;
}> {
  const service = {
    authenticate: () => Promise.resolve(ok({ id: STAND_IN_RACK })),
    sessionChanged: () => Promise.resolve(),
    mayConnect: () => Promise.resolve(true),
    ...racks,
  };
  const authLimiter = { guard: (_a: unknown, verify: () => Promise<unknown>) => verify() };
  const server = await startRackServer(service as unknown as RackService, silentLogger, {
    host: '127.0.0.1',
    port: 0,
    heartbeatIntervalMs: 60_000,
    secrets: {} as SecretBox,
    authLimiter: authLimiter as unknown as AuthLimiter,
  });
  cleanups.push(() => server.close());
  const client = new RackServiceClient(
    `127.0.0.1:${String(server.port)}`,
    credentials.createInsecure(),
  );
  cleanups.push(() => client.close());
  const metadata = new Metadata();
  metadata.set('x-ingot-rack-id', STAND_IN_RACK);
  metadata.set('x-ingot-rack-secret', 'secret');
  const call = client.session(metadata);
  cleanups.push(() => call.cancel());
  call.on('error', () => undefined);
  call.on('data', onMessage);
  call.write(
    SessionRequest.fromPartial({
      kind: {
        $case: 'hello',
        value: { hostname: 'r1', version: 'test', networkConfigVersion: 0 },
      },
    }),
  );
  return { server, call };
}
