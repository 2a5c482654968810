import { describe, expect, it } from 'vitest';
import { decodeSignal } from './pg-signals.ts';
import { createSignalHub, type ClusterMessage } from './signals.ts';

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
