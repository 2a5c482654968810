import { describe, expect, it } from 'vitest';
import { decodeSignal } from './pg-signals.ts';
import {
  createSignalHub,
  MAX_SIGNAL_MACHINE_IDS,
  mergePowerConfigsSignals,
  powerConfigsSignal,
  type ClusterMessage,
} from './signals.ts';

describe('in-process signal hub', () => {
  it('delivers each signal once to every member, the sender included, until it leaves', async () => {
    const hub = createSignalHub();
    const [a, b] = [hub.join(), hub.join()];
    const seen: Record<string, ClusterMessage[]> = { a: [], b: [] };
    a.subscribe((m) => seen['a']?.push(m));
    b.subscribe((m) => seen['b']?.push(m));
    a.publish({ kind: 'rack-commands', rackId: 'r1' });
    expect(seen).toEqual({
      a: [{ kind: 'rack-commands', rackId: 'r1' }],
      b: [{ kind: 'rack-commands', rackId: 'r1' }],
    });
    await b.close();
    a.publish({ kind: 'events', seq: 7 });
    expect(seen['b']).toHaveLength(1);
    expect(seen['a']).toHaveLength(2);
  });

  it('a failing listener is reported and the others still get the signal', () => {
    const errors: unknown[] = [];
    const member = createSignalHub((e) => errors.push(e)).join();
    const got: ClusterMessage[] = [];
    member.subscribe(() => {
      throw new Error('boom');
    });
    member.subscribe((m) => got.push(m));
    member.publish({ kind: 'rack-revoked', rackId: 'r1' });
    expect(got).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });
});

describe('NOTIFY payloads', () => {
  const cases: Record<string, [string | undefined, ReturnType<typeof decodeSignal>]> = {
    events: [
      '{"o":"a-1","s":{"kind":"events","seq":42}}',
      { origin: 'a-1', signal: { kind: 'events', seq: 42 } },
    ],
    'rack commands': [
      '{"o":"a-1","s":{"kind":"rack-commands","rackId":"r1"}}',
      { origin: 'a-1', signal: { kind: 'rack-commands', rackId: 'r1' } },
    ],
    'session claimed': [
      '{"o":"b","s":{"kind":"rack-session-claimed","rackId":"r1","sessionId":"s"}}',
      { origin: 'b', signal: { kind: 'rack-session-claimed', rackId: 'r1', sessionId: 's' } },
    ],
    'extra fields are dropped': [
      '{"o":"a","s":{"kind":"rack-revoked","rackId":"r1","x":1}}',
      { origin: 'a', signal: { kind: 'rack-revoked', rackId: 'r1' } },
    ],
    'power configs of every machine': [
      '{"o":"a","s":{"kind":"rack-power-configs","rackId":"r1"}}',
      { origin: 'a', signal: { kind: 'rack-power-configs', rackId: 'r1' } },
    ],
    'power configs of named machines': [
      '{"o":"a","s":{"kind":"rack-power-configs","rackId":"r1","machineIds":["m1","m2"]}}',
      {
        origin: 'a',
        signal: { kind: 'rack-power-configs', rackId: 'r1', machineIds: ['m1', 'm2'] },
      },
    ],
    'machine ids not an array': [
      '{"o":"a","s":{"kind":"rack-power-configs","rackId":"r1","machineIds":"m1"}}',
      undefined,
    ],
    'a machine id not a string': [
      '{"o":"a","s":{"kind":"rack-power-configs","rackId":"r1","machineIds":["m1",2]}}',
      undefined,
    ],
    'an empty machine id': [
      '{"o":"a","s":{"kind":"rack-power-configs","rackId":"r1","machineIds":[""]}}',
      undefined,
    ],
    'too many machine ids': [
      JSON.stringify({
        o: 'a',
        s: {
          kind: 'rack-power-configs',
          rackId: 'r1',
          machineIds: Array.from({ length: MAX_SIGNAL_MACHINE_IDS + 1 }, (_, i) => `m${String(i)}`),
        },
      }),
      undefined,
    ],
    'no payload': [undefined, undefined],
    'not JSON': ['{', undefined],
    'not an object': ['42', undefined],
    'no origin': ['{"s":{"kind":"events","seq":1}}', undefined],
    'unknown kind': ['{"o":"a","s":{"kind":"drop-tables"}}', undefined],
    'seq not a number': ['{"o":"a","s":{"kind":"events","seq":"1"}}', undefined],
    'rack id missing': ['{"o":"a","s":{"kind":"rack-commands"}}', undefined],
    'session id missing': ['{"o":"a","s":{"kind":"rack-session-claimed","rackId":"r"}}', undefined],
  };
  it.each(Object.entries(cases))('%s', (_, [payload, expected]) => {
    expect(decodeSignal(payload)).toEqual(expected);
  });
});

describe('power config signals', () => {
  const ids = (n: number, from = 0): string[] =>
    Array.from({ length: n }, (_, i) => `m${String(from + i)}`);

  it('name at most MAX_SIGNAL_MACHINE_IDS machines; more mean every machine', () => {
    expect(powerConfigsSignal('r', ['a', 'b', 'a'])).toEqual({
      kind: 'rack-power-configs',
      rackId: 'r',
      machineIds: ['a', 'b'],
    });
    expect(powerConfigsSignal('r', ids(MAX_SIGNAL_MACHINE_IDS)).machineIds).toHaveLength(
      MAX_SIGNAL_MACHINE_IDS,
    );
    expect(powerConfigsSignal('r', ids(MAX_SIGNAL_MACHINE_IDS + 1))).toEqual({
      kind: 'rack-power-configs',
      rackId: 'r',
    });
    expect(powerConfigsSignal('r')).toEqual({ kind: 'rack-power-configs', rackId: 'r' });
  });

  it('a signal the NOTIFY encoder sends decodes to itself', () => {
    const signal = powerConfigsSignal('r', ids(MAX_SIGNAL_MACHINE_IDS));
    const payload = JSON.stringify({ o: 'a', s: signal });
    expect(payload.length).toBeLessThan(8000); // PostgreSQL's NOTIFY payload limit
    expect(decodeSignal(payload)).toEqual({ origin: 'a', signal });
  });

  it('merge the machines named; every machine wins; too many become every machine', () => {
    const of = (machineIds?: string[]) => powerConfigsSignal('r', machineIds);
    expect(mergePowerConfigsSignals(of(['a', 'b']), of(['b', 'c'])).machineIds).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(mergePowerConfigsSignals(of(['a']), of()).machineIds).toBeUndefined();
    expect(mergePowerConfigsSignals(of(), of(['a'])).machineIds).toBeUndefined();
    expect(mergePowerConfigsSignals(of(ids(30)), of(ids(30, 30))).machineIds).toBeUndefined();
  });
});
