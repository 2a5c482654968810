/** Brute-force limits on the rack gRPC server: Register tokens and Session secrets, on loopback. */
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { createJsonLogger } from '@ingot/common';
import { RackServiceClient, type RegisterResponse } from '@ingot/proto/rack/v1';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthLimiter } from '../app/auth-limiter.ts';
import { createServiceFixture, type ServiceFixture } from '../testing/service-fixture.ts';
import { peerAddress } from './auth-limit.ts';
import { startRackServer, type RackServerHandle } from './rack-server.ts';

let f: ServiceFixture;
let server: RackServerHandle;
let client: RackServiceClient;

beforeEach(async () => {
  f = await createServiceFixture();
  const authLimiter = new AuthLimiter({ store: f.store, bus: f.bus, clock: f.clock });
  server = await startRackServer(
    f.racks,
    createJsonLogger(() => undefined, 'error'),
    {
      host: '127.0.0.1',
      port: 0,
      heartbeatIntervalMs: 60_000,
      secrets: f.secrets,
      authLimiter,
    },
  );
  client = new RackServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterEach(async () => {
  client.close();
  await server.close();
  await f.close();
});

function register(token: string): Promise<ServiceError | RegisterResponse> {
  return new Promise((resolve) => {
    client.register(
      {
        enrollmentToken: token,
        hostname: 'rack-x',
        version: 'test',
        interfaces: [],
        publicKeyPem: '',
        rackId: '',
        rackSecret: '',
      },
      (e, r) => {
        resolve(e ?? r);
      },
    );
  });
}

/** Opens a Session with `secret` and returns the status it ends with. */
function session(rackId: string, secret: string): Promise<number> {
  const md = new Metadata();
  md.set('x-ingot-rack-id', rackId);
  md.set('x-ingot-rack-secret', secret);
  const stream = client.session(md);
  return new Promise((resolve) => {
    stream.on('error', (e: ServiceError) => {
      resolve(e.code);
    });
    stream.on('data', () => {
      stream.cancel();
      resolve(GrpcStatus.OK);
    });
  });
}

const code = (r: ServiceError | RegisterResponse): number | 'ok' => ('code' in r ? r.code : 'ok');

describe('rack gRPC brute-force limits', () => {
  it('answers 10 wrong enrollment tokens UNAUTHENTICATED, then RESOURCE_EXHAUSTED; a right token still enrolls', async () => {
    const codes: (number | 'ok')[] = [];
    for (let i = 0; i < 11; i++) codes.push(code(await register(`ingot-enroll-wrong${i}`)));
    expect(codes).toEqual([
      ...Array<number>(10).fill(GrpcStatus.UNAUTHENTICATED),
      GrpcStatus.RESOURCE_EXHAUSTED,
    ]);
    const limited = await register('ingot-enroll-wrong-again');
    expect('details' in limited ? limited.details : '').toMatch(/try again in \d+ s/);
    const token = await f.racks.createEnrollmentToken(f.admin.actor);
    if (!token.ok) throw new Error(token.error.kind);
    expect(code(await register(token.value.token))).toBe('ok');
    const lockouts = (await f.store.listEvents({ kinds: ['audit'] })).filter(
      (e) => e.step === 'auth.lockout',
    );
    expect(lockouts.map((e) => e.data['credential'])).toEqual([
      'enrollment-token',
      'enrollment-token',
    ]);
  });

  it('limits wrong rack secrets per rack id with RESOURCE_EXHAUSTED', async () => {
    const { rack } = await f.enrollRack('rack-y');
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) codes.push(await session(rack.id, `wrong-${i}`));
    expect(codes).toEqual([
      ...Array<number>(10).fill(GrpcStatus.UNAUTHENTICATED),
      GrpcStatus.RESOURCE_EXHAUSTED,
    ]);
  });

  it('reads the address of a grpc-js peer', () => {
    expect(peerAddress('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerAddress('ipv4:10.0.0.1:5000')).toBe('10.0.0.1');
    expect(peerAddress('[::1]:5000')).toBe('::1');
    expect(peerAddress('ipv6:[fe80::1]:5000')).toBe('fe80::1');
    expect(peerAddress('unix:/run/x')).toBe('unix:/run/x');
  });
});
