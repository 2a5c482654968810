/**
 * Commands reach the agent beside the session's message queue: a boot plan queued while an
 * event batch of the same session is still being stored goes out at once (issue 7 failover:
 * behind a backlog of event transactions the `local` plan arrived tens of seconds late and
 * machines installed again). Runs the real gRPC server against a real client; the rack service
 * is a stand-in whose event recording waits until the test lets it finish.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { ok, silentLogger } from '@ingot/common';
import { RackServiceClient, SessionRequest, type SessionResponse } from '@ingot/proto/rack/v1';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import type { RackService } from '../app/rack-service.ts';
import type { SecretBox } from '../app/secret-box.ts';
import type { RackCommand } from '../domain/rack.ts';
import { startRackServer, type RackServerHandle } from './rack-server.ts';

const RACK = 'rack-1';

function localDiskPlan(id: string): RackCommand {
  return {
    seq: 1,
    id,
    rackId: RACK,
    machineId: 'm1',
    body: {
      kind: 'boot-plan',
      machineId: 'm1',
      macs: ['52:54:00:00:00:01'],
      purpose: 'local',
      os: '',
      release: '',
      arch: 'amd64',
      hostname: 'm1',
      version: 2,
    },
    createdAtMs: 0,
    ackedAtMs: null,
  };
}

/** Polls `check` every 10 ms for at most 5 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('rack session commands', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a command queued while an event batch is being stored reaches the agent before the batch is acknowledged', async () => {
    const pending: RackCommand[] = [];
    let finishRecording: () => void = () => undefined;
    const recordingDone = new Promise<void>((resolve) => {
      finishRecording = resolve;
    });
    let recording = false;
    const racks = {
      authenticate: () => Promise.resolve(ok({ id: RACK })),
      sessionChanged: () => Promise.resolve(),
      pendingCommands: () => Promise.resolve([...pending]),
      powerConfigs: () => Promise.resolve([]),
      mayConnect: () => Promise.resolve(true),
      heartbeat: () => Promise.resolve(),
      ackCommands: () => Promise.resolve(),
      recordEvents: async () => {
        recording = true;
        await recordingDone;
      },
    };
    const authLimiter = {
      guard: (_attempt: unknown, verify: () => Promise<unknown>) => verify(),
    };
    const server: RackServerHandle = await startRackServer(
      racks as unknown as RackService,
      silentLogger,
      {
        host: '127.0.0.1',
        port: 0,
        heartbeatIntervalMs: 60_000,
        secrets: {} as SecretBox,
        authLimiter: authLimiter as unknown as AuthLimiter,
      },
    );
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
    const seen: string[] = [];
    call.on('data', (m: SessionResponse) => {
      const kind = m.kind;
      if (kind?.$case === 'command') seen.push(`command ${kind.value.id}`);
      else if (kind !== undefined) seen.push(kind.$case);
    });

    call.write(
      SessionRequest.fromPartial({
        kind: {
          $case: 'hello',
          value: { hostname: 'r1', version: 'test', networkConfigVersion: 0 },
        },
      }),
    );
    await until('welcome', () => seen.includes('welcome'));
    call.write(
      SessionRequest.fromPartial({
        kind: {
          $case: 'events',
          value: { events: [{ id: 'e1', machineId: 'm1', step: 'boot.nbp', result: 'succeeded' }] },
        },
      }),
    );
    await until('the batch being stored', () => recording);

    pending.push(localDiskPlan('plan-1'));
    server.commandsQueued(RACK);
    await until('the plan', () => seen.includes('command plan-1'));
    expect(seen).not.toContain('eventAck'); // the batch is still being stored

    finishRecording();
    await until('the batch acknowledged', () => seen.includes('eventAck'));
    expect(seen.filter((s) => s === 'command plan-1')).toHaveLength(1);
  }, 30_000);
});
