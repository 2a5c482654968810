/**
 * Power configs through the real gRPC server: a session starts with every machine's, and a
 * notification naming machines makes the session read and send just those. The rack service is a
 * stand-in that records which machines each read asked for.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { ok, silentLogger } from '@ingot/common';
import { RackServiceClient, SessionRequest, type SessionResponse } from '@ingot/proto/rack/v1';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import type { RackPowerConfig } from '../app/rack-power-configs.ts';
import type { RackService } from '../app/rack-service.ts';
import type { SecretBox } from '../app/secret-box.ts';
import { startRackServer } from './rack-server.ts';

const RACK = 'rack-1';

/** Polls `check` every 10 ms for at most 5 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('rack session power configs', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a session starts with every machine; a change sends only the machines it names', async () => {
    const configs = new Map<string, RackPowerConfig>();
    const put = (machineId: string, password: string): void => {
      configs.set(machineId, { machineId, driver: 'ipmi', params: { password } });
    };
    put('m1', 'a');
    put('m2', 'b');
    const reads: (readonly string[] | 'all')[] = [];
    const racks = {
      authenticate: () => Promise.resolve(ok({ id: RACK })),
      sessionChanged: () => Promise.resolve(),
      pendingCommands: () => Promise.resolve([]),
      powerConfigs: (_rackId: string, machineIds?: readonly string[]) => {
        reads.push(machineIds === undefined ? 'all' : [...machineIds].sort());
        const all = [...configs.values()];
        return Promise.resolve(
          machineIds === undefined ? all : all.filter((c) => machineIds.includes(c.machineId)),
        );
      },
      mayConnect: () => Promise.resolve(true),
    };
    const authLimiter = { guard: (_a: unknown, verify: () => Promise<unknown>) => verify() };
    const server = await startRackServer(racks as unknown as RackService, silentLogger, {
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
    metadata.set('x-ingot-rack-id', RACK);
    metadata.set('x-ingot-rack-secret', 'secret');
    const call = client.session(metadata);
    cleanups.push(() => call.cancel());
    call.on('error', () => undefined);
    const got: string[] = [];
    call.on('data', (m: SessionResponse) => {
      const cmd = m.kind?.$case === 'command' ? m.kind.value.kind : undefined;
      if (cmd?.$case === 'powerConfig')
        got.push(`${cmd.value.machineId} ${cmd.value.driver} ${cmd.value.paramsJson}`);
    });
    call.write(
      SessionRequest.fromPartial({
        kind: { $case: 'hello', value: { hostname: 'r1', version: 'test' } },
      }),
    );
    await until('the first push', () => got.length === 2);
    expect(reads).toEqual(['all']);

    put('m1', 'a2');
    put('m3', 'c');
    configs.delete('m2');
    server.powerConfigsChanged(RACK, ['m1']);
    server.powerConfigsChanged(RACK, ['m2', 'm3']);
    await until('the changes', () => got.length === 5);
    expect(got.slice(2).sort()).toEqual([
      'm1 ipmi {"password":"a2"}',
      'm2  ',
      'm3 ipmi {"password":"c"}',
    ]);
    // Both notifications came before the push could start: one read of the three machines.
    expect(reads).toEqual(['all', ['m1', 'm2', 'm3']]);
  }, 30_000);
});
