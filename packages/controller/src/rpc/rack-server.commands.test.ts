/**
 * Commands reach the agent beside the session's message queue: a boot plan queued while an
 * event batch of the same session is still being stored goes out at once (issue 7 failover:
 * behind a backlog of event transactions the `local` plan arrived tens of seconds late and
 * machines installed again). Runs the real gRPC server against a real client; the rack service
 * is a stand-in whose event recording waits until the test lets it finish.
 */
import { SessionRequest, type SessionResponse } from '@ingot/proto/rack/v1';
import { afterEach, describe, expect, it } from 'vitest';
import type { RackCommand } from '../domain/rack.ts';
import { openStandInSession, STAND_IN_RACK as RACK, until } from './stand-in-session.ts';

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
    const seen: string[] = [];
    const { server, call } = await openStandInSession(
      {
        pendingCommands: () => Promise.resolve([...pending]),
        powerConfigs: () => Promise.resolve([]),
        heartbeat: () => Promise.resolve(),
        ackCommands: () => Promise.resolve(),
        recordEvents: async () => {
          recording = true;
          await recordingDone;
        },
      },
      (m: SessionResponse) => {
        const kind = m.kind;
        if (kind?.$case === 'command') seen.push(`command ${kind.value.id}`);
        else if (kind !== undefined) seen.push(kind.$case);
      },
      cleanups,
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
