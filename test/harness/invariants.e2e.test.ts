// The checkers of invariants.ts on crafted runs: each passes a clean run and fails its own kind of
// broken one. Pure and fast; it sits in the e2e project only because that project is the one
// that collects files under test/.
import { describe, expect, it } from 'vitest';
import {
  addressesFromEvents,
  checkAddresses,
  checkAllocations,
  checkEvents,
  checkOutcomes,
  checkRun,
  summaryLine,
  type SimMachine,
  type StoredEvent,
  type StoredMachine,
} from './invariants.ts';

let seq = 0;
function ev(partial: Partial<StoredEvent> & { step: string }): StoredEvent {
  seq += 1;
  return {
    seq,
    id: `e${String(seq)}`,
    kind: 'step',
    machine_id: 'm1',
    result: 'succeeded',
    from_status: null,
    to_status: null,
    actor: 'rack:r1',
    message: '',
    data: {},
    occurred_at: new Date(1_000_000 + seq * 1000).toISOString(),
    ...partial,
  };
}

function machine(partial: Partial<StoredMachine> = {}): StoredMachine {
  return {
    id: 'm1',
    hostname: 'node-1',
    status: 'deployed',
    status_message: 'Deployed',
    owner: 'alice',
    last_step: null,
    ...partial,
  };
}

function transition(id: string, step: string, from: string, to: string, actor = 'user:alice') {
  return ev({ id, kind: 'transition', step, from_status: from, to_status: to, actor });
}

/** A clean deploy of m1 and what its simulator saw. */
function cleanRun(): { events: StoredEvent[]; sim: SimMachine } {
  const events = [
    transition('t1', 'allocate', 'ready', 'allocated'),
    transition('t2', 'deploy', 'allocated', 'deploying'),
    ev({ id: 'p1', step: 'power.on' }),
    ev({ id: 'd1', step: 'dhcp.ack', data: { ip: '172.31.0.100' } }),
    ev({ id: 'a1', step: 'boot.kernel' }),
    ev({ id: 'a2', step: 'install.image' }),
    ev({ id: 'a3', step: 'deployed' }),
    transition('t3', 'deployed', 'deploying', 'deployed', 'rack:r1'),
  ];
  const sim: SimMachine = {
    machineId: 'm1',
    steps: [
      { step: 'dhcp.ack', result: 'succeeded', ids: [], acknowledged: true },
      { step: 'boot.kernel', result: 'succeeded', ids: ['a1'], acknowledged: true },
      { step: 'install.image', result: 'succeeded', ids: ['a2'], acknowledged: true },
      { step: 'deployed', result: 'succeeded', ids: ['a3'], acknowledged: true },
    ],
    addresses: [],
  };
  return { events, sim };
}

const ONCE = { onceSteps: ['power.on'], onceTransitions: true };

describe('checkOutcomes', () => {
  it('passes deployed and failed machines with a reason', () => {
    expect(
      checkOutcomes([
        machine(),
        machine({ id: 'm2', status: 'failed_deployment', status_message: 'timed out' }),
        machine({
          id: 'm3',
          status: 'failed_deployment',
          status_message: '',
          last_step: { step: 'install.image', result: 'failed', message: 'disk full' },
        }),
      ]),
    ).toEqual([]);
  });
  it('fails a machine stuck deploying and a failure without a reason', () => {
    const v = checkOutcomes([
      machine({ status: 'deploying' }),
      machine({ id: 'm2', status: 'failed_deployment', status_message: ' ' }),
    ]);
    expect(v.map((x) => [x.invariant, x.machineId])).toEqual([
      ['outcome', 'm1'],
      ['outcome', 'm2'],
    ]);
  });
});

describe('checkEvents', () => {
  it('passes a clean run', () => {
    const { events, sim } = cleanRun();
    expect(checkEvents(events, [sim], ONCE)).toEqual([]);
  });
  it('finds an acknowledged event that was not stored', () => {
    const { events, sim } = cleanRun();
    const v = checkEvents(
      events.filter((e) => e.id !== 'a2'),
      [sim],
      ONCE,
    );
    expect(v.map((x) => x.invariant)).toEqual(['lost', 'lost']);
    expect(v[0]?.detail).toContain('a2');
  });
  it('finds a lost agent-recorded step by count (no id known to the machine)', () => {
    const { events, sim } = cleanRun();
    const v = checkEvents(
      events.filter((e) => e.step !== 'dhcp.ack'),
      [sim],
      ONCE,
    );
    expect(v.map((x) => [x.invariant, x.detail])).toEqual([
      ['lost', 'dhcp.ack succeeded: acknowledged 1×, stored 0×'],
    ]);
  });
  it('an unacknowledged step may be missing', () => {
    const { events, sim } = cleanRun();
    const steps = sim.steps.map((s) =>
      s.step === 'install.image' ? { ...s, ids: [], acknowledged: false } : s,
    );
    expect(
      checkEvents(
        events.filter((e) => e.id !== 'a2'),
        [{ ...sim, steps }],
        ONCE,
      ),
    ).toEqual([]);
  });
  it('finds the same id twice, a step re-stored under a new id, and twice-once steps', () => {
    const { events, sim } = cleanRun();
    const copy = events.find((e) => e.id === 'a1');
    if (copy === undefined) throw new Error('no a1');
    const all = [
      ...events,
      { ...copy, seq: 100 },
      { ...copy, seq: 101, id: 'fresh' },
      ev({ id: 'p2', step: 'power.on' }),
      transition('t4', 'deployed', 'deploying', 'deployed', 'rack:r1'),
    ];
    const at = (id: string): string => all.find((e) => e.id === id)?.occurred_at ?? '';
    const v = checkEvents(all, [sim], ONCE);
    expect(v.map((x) => x.detail)).toEqual([
      'event id a1 (boot.kernel succeeded) stored 2 times',
      'boot.kernel succeeded: made 1×, stored 3×',
      `power.on succeeded happens once per deploy, stored 2× (at ${at('p1')}, ${at('p2')})`,
      'transition deploying→deployed stored 2×',
    ]);
    expect(new Set(v.map((x) => x.invariant))).toEqual(new Set(['duplicated']));
  });
  it('a DHCP answer recorded twice for one retransmitted request is not a duplicate', () => {
    const { events, sim } = cleanRun();
    const twice = [...events, ev({ id: 'd2', step: 'dhcp.ack', data: { ip: '172.31.0.100' } })];
    expect(checkEvents(twice, [sim], ONCE).map((x) => x.invariant)).toEqual(['duplicated']);
    const steps = sim.steps.map((s) => (s.step === 'dhcp.ack' ? { ...s, atLeast: true } : s));
    expect(checkEvents(twice, [{ ...sim, steps }], ONCE)).toEqual([]);
    expect(
      checkEvents(
        events.filter((e) => e.step !== 'dhcp.ack'),
        [{ ...sim, steps }],
        ONCE,
      ).map((x) => x.invariant),
    ).toEqual(['lost']);
  });
  it('counts steps the machine reported through the metadata service', () => {
    const { events, sim } = cleanRun();
    const meta = ev({ id: 'm9', step: 'install.storage', result: 'started', actor: 'machine:m1' });
    const step = { step: 'install.storage', result: 'started', ids: [], acknowledged: true };
    const withStep = { ...sim, steps: [...sim.steps, step] };
    expect(checkEvents([...events, meta], [withStep], ONCE)).toEqual([]);
    expect(checkEvents(events, [withStep], ONCE).map((x) => x.invariant)).toEqual(['lost']);
    expect(
      checkEvents([...events, meta, { ...meta, id: 'm10', seq: 200 }], [withStep], ONCE).map(
        (x) => x.invariant,
      ),
    ).toEqual(['duplicated']);
  });
  it('a once-step may name its result: an attempt started again is not a duplicate', () => {
    const { events, sim } = cleanRun();
    const again = [
      ...events,
      ev({ id: 'p0', step: 'power.on', result: 'started' }),
      ev({ id: 'p00', step: 'power.on', result: 'started' }),
    ];
    const succeededOnce = { onceSteps: ['power.on:succeeded'], onceTransitions: true };
    expect(checkEvents(again, [sim], succeededOnce)).toEqual([]);
    expect(checkEvents(again, [sim], ONCE).map((x) => x.invariant)).toEqual(['duplicated']);
    const twice = [...again, ev({ id: 'p2', step: 'power.on' })];
    expect(checkEvents(twice, [sim], succeededOnce).map((x) => x.invariant)).toEqual([
      'duplicated',
    ]);
  });
  it('a step the machine made twice may be stored twice', () => {
    const { events, sim } = cleanRun();
    const again = { step: 'boot.kernel', result: 'succeeded', ids: ['a9'], acknowledged: true };
    expect(
      checkEvents(
        [...events, ev({ id: 'a9', step: 'boot.kernel' })],
        [{ ...sim, steps: [...sim.steps, again] }],
      ),
    ).toEqual([]);
  });
});

describe('checkAddresses', () => {
  const grant = (machineId: string, ip: string, fromMs: number, untilMs: number) => ({
    machineId,
    ip,
    fromMs,
    untilMs,
    source: 'test',
  });
  it('passes distinct addresses, a renewal, and reuse after the lease ended', () => {
    expect(
      checkAddresses([
        grant('m1', '10.0.0.1', 0, 100),
        grant('m1', '10.0.0.1', 50, 150),
        grant('m2', '10.0.0.2', 0, 100),
        grant('m3', '10.0.0.1', 150, 300),
      ]),
    ).toEqual([]);
  });
  it('finds one address held by two machines at once', () => {
    const v = checkAddresses([grant('m1', '10.0.0.1', 0, 100), grant('m2', '10.0.0.1', 99, 200)]);
    expect(v).toEqual([expect.objectContaining({ invariant: 'double-ip', machineId: 'm2' })]);
  });
  it('reads addresses from dhcp.ack events (without a lease time: for the whole run)', () => {
    const events = [
      ev({ step: 'dhcp.ack', machine_id: 'm1', data: { ip: '10.0.0.7' } }),
      ev({ step: 'dhcp.ack', machine_id: 'm2', data: { ip: '10.0.0.7' } }),
    ];
    expect(addressesFromEvents(events, 0.5)).toHaveLength(2);
    expect(checkAddresses(addressesFromEvents(events, 0.5))).toEqual([]);
    expect(checkAddresses(addressesFromEvents(events))).toHaveLength(1);
  });
});

describe('checkAllocations', () => {
  it('passes allocate, release, allocate again', () => {
    const events = [
      transition('t1', 'allocate', 'ready', 'allocated', 'user:bob'),
      transition('t2', 'release', 'allocated', 'ready', 'user:bob'),
      transition('t3', 'allocate', 'ready', 'allocated', 'user:alice'),
    ];
    expect(checkAllocations(events, [machine()], [{ machineId: 'm1', owner: 'alice' }])).toEqual(
      [],
    );
  });
  it('finds a second allocate, two callers given one machine, and a wrong owner', () => {
    const events = [
      transition('t1', 'allocate', 'ready', 'allocated', 'user:bob'),
      transition('t2', 'allocate', 'ready', 'allocated', 'user:alice'),
    ];
    const v = checkAllocations(
      events,
      [machine({ owner: 'carol' })],
      [
        { machineId: 'm1', owner: 'alice' },
        { machineId: 'm1', owner: 'bob' },
      ],
    );
    expect(v.map((x) => x.detail)).toEqual([
      'allocated to user:alice while user:bob still held it (event t2)',
      'the allocation API gave it to alice and bob',
      'owned by carol, but the API gave it to alice, bob',
      'owned by carol, but its allocate event names user:alice',
    ]);
  });
});

describe('checkRun', () => {
  it('counts every kind and prints the summary line', () => {
    const { events, sim } = cleanRun();
    const clean = checkRun(
      { machines: [machine()], events, sims: [sim], grants: [{ machineId: 'm1', owner: 'alice' }] },
      ONCE,
    );
    expect(summaryLine(clean)).toBe(
      'chaos: 1 deploys, lost 0, duplicated 0, double-ip 0, double-alloc 0',
    );
    const broken = checkRun(
      {
        machines: [machine(), machine({ id: 'm2', status: 'deploying' })],
        events: [
          ...events.filter((e) => e.id !== 'a3'),
          ev({ id: 'p2', step: 'power.on' }),
          ev({ machine_id: 'm2', step: 'dhcp.ack', data: { ip: '172.31.0.100' } }),
          transition('t9', 'allocate', 'ready', 'allocated', 'user:bob'),
        ],
        sims: [sim],
        grants: [{ machineId: 'm1', owner: 'alice' }],
      },
      ONCE,
    );
    expect(broken.counts).toEqual({
      outcome: 1,
      lost: 2,
      // power.on twice, and ready→allocated twice
      duplicated: 2,
      'double-ip': 1,
      'double-alloc': 2,
    });
    expect(summaryLine(broken)).toBe(
      'chaos: 2 deploys, lost 2, duplicated 2, double-ip 1, double-alloc 2',
    );
  });
});
