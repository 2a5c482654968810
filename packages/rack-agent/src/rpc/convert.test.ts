import { describe, expect, it } from 'vitest';
import type { Command } from '@ingot/proto/rack/v1';
import type { OutboxRecord, StatusEvent } from '../domain/events.ts';
import { parseMacAddress } from '../domain/mac-address.ts';
import { MAX_EVENTS_PER_MESSAGE, toAgentCommand, toOutboxRequests } from './convert.ts';

const LEASE_MAC = parseMacAddress('52:54:00:00:00:01');
if (LEASE_MAC === undefined) throw new Error('bad test MAC');

const status = (seq: number): OutboxRecord => ({
  seq,
  kind: 'status',
  event: {
    id: `s${seq}`,
    machineId: 'm1',
    mac: '',
    step: 'boot.kernel',
    result: 'info',
    message: '',
    occurredAtMs: seq,
    data: {},
  } satisfies StatusEvent,
});
const lease = (seq: number): OutboxRecord => ({
  seq,
  kind: 'lease',
  event: {
    id: `l${seq}`,
    mac: LEASE_MAC,
    ip: '10.0.0.2',
    subnetCidr: '10.0.0.0/24',
    action: 'bound',
    expiresAtMs: 0,
    occurredAtMs: seq,
    hostname: '',
    clientArch: 0,
  },
});

const powerCommand = (
  over: Partial<Extract<Command['kind'], { $case: 'power' }>['value']>,
): Command => ({
  id: 'c1',
  kind: {
    $case: 'power',
    value: {
      machineId: 'm1',
      action: 'on',
      driver: 'manual',
      paramsJson: '{"password":"pw"}',
      pxeOnce: true,
      uefi: false,
      ...over,
    },
  },
});

describe('toOutboxRequests', () => {
  it('batches by kind, keeps order and caps message size', () => {
    const records = [
      ...Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, (_, i) => status(i + 1)),
      lease(1000),
      status(1001),
    ];
    const requests = toOutboxRequests(records);
    expect(
      requests.map((r) =>
        r.kind?.$case === 'events'
          ? ['events', r.kind.value.events.length]
          : r.kind?.$case === 'leases'
            ? ['leases', r.kind.value.leases.length]
            : ['other', 0],
      ),
    ).toEqual([
      ['events', 500],
      ['events', 1],
      ['leases', 1],
      ['events', 1],
    ]);
  });
});

describe('toAgentCommand', () => {
  it('converts a power command with parsed params', () => {
    expect(toAgentCommand(powerCommand({}))).toEqual({
      ok: true,
      value: {
        id: 'c1',
        kind: 'power',
        request: {
          machineId: 'm1',
          action: 'on',
          driver: 'manual',
          params: { password: 'pw' },
          pxeOnce: true,
          uefi: false,
        },
      },
    });
  });

  it('rejects bad power commands without echoing parameters', () => {
    const badJson = toAgentCommand(powerCommand({ paramsJson: '{"password":"pw' }));
    expect(badJson).toMatchObject({
      ok: false,
      error: { kind: 'invalid-command', commandKind: 'power' },
    });
    expect(JSON.stringify(badJson)).not.toContain('pw');
    expect(toAgentCommand(powerCommand({ action: 'explode' }))).toMatchObject({ ok: false });
  });

  it('normalizes MACs and validates the boot purpose', () => {
    const plan = {
      machineId: 'm1',
      macs: ['52-54-00-AA-BB-CC'],
      purpose: 'install',
      os: 'debian',
      release: 'bookworm',
      arch: 'amd64',
      kernelParams: '',
      files: [],
      hostname: 'n1',
      metadataToken: 't',
      version: 2,
    };
    const ok = toAgentCommand({ id: 'c2', kind: { $case: 'bootPlan', value: plan } });
    expect(ok.ok && ok.value.kind === 'boot-plan' && ok.value.plan.macs).toEqual([
      '52:54:00:aa:bb:cc',
    ]);
    const bad = toAgentCommand({
      id: 'c2',
      kind: { $case: 'bootPlan', value: { ...plan, purpose: 'x' } },
    });
    expect(bad).toMatchObject({ ok: false, error: { kind: 'invalid-command' } });
  });

  it('marks a command without a known kind as unknown', () => {
    expect(toAgentCommand({ id: 'c3', kind: undefined })).toEqual({
      ok: false,
      error: { kind: 'unknown-command', commandId: 'c3' },
    });
  });
});
