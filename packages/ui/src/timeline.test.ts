import { describe, expect, it } from 'vitest';
import { buildTimeline, EMPTY_TIMELINE, stepDurationMs, timelineReducer } from './timeline.ts';
import type { IngotEvent } from './types.ts';

const T0 = Date.parse('2026-11-27T06:00:00Z');
let seq = 100;

function ev(partial: Partial<IngotEvent> & { step: string; atS: number }): IngotEvent {
  const { atS, ...rest } = partial;
  seq += 1;
  return {
    seq,
    id: `e${seq}`,
    kind: 'step',
    machine_id: 'm1',
    rack_id: 'r1',
    result: 'succeeded',
    from_status: null,
    to_status: null,
    actor: 'rack:r1',
    message: '',
    data: {},
    occurred_at: new Date(T0 + atS * 1000).toISOString(),
    recorded_at: null,
    ...rest,
  };
}
const to = (from: string, status: string, atS: number): IngotEvent =>
  ev({ kind: 'transition', step: 'deploy', from_status: from, to_status: status, atS });

/** A disk deploy that fails in customisation, in the order the controller stores it. */
function failingDeploy(): IngotEvent[] {
  return [
    to('allocated', 'deploying', 0),
    ev({ kind: 'power', step: 'power.on', atS: 1 }),
    ev({ step: 'dhcp.ack', atS: 3, message: '172.31.0.50' }),
    ev({ step: 'install.storage', result: 'started', atS: 20 }),
    ev({ step: 'install.storage', atS: 24 }),
    ev({ step: 'install.image', result: 'started', atS: 25 }),
    ev({
      step: 'install.image',
      result: 'started',
      atS: 27,
      data: { bytes_done: 1000, bytes_total: 4000 },
    }),
    ev({
      step: 'install.image',
      result: 'started',
      atS: 29,
      data: { bytes_done: 3000, bytes_total: 4000 },
    }),
    ev({ step: 'install.image', atS: 30, data: { bytes_done: 4000, bytes_total: 4000 } }),
    ev({ step: 'install.customise', result: 'started', atS: 31 }),
    ev({
      step: 'install.customise',
      result: 'failed',
      atS: 33,
      message: 'command 1 exited 3',
      data: { log_tail: '+ echo about-to-fail\nabout-to-fail\n' },
    }),
    to('deploying', 'failed_deployment', 33),
  ];
}

describe('timeline', () => {
  it('folds a deploy into steps with states, durations, progress and the failure', () => {
    const t = buildTimeline(failingDeploy());
    expect(t.operation).toBe('deploying');
    expect(t.outcome).toBe('failed');
    expect(t.status).toBe('failed_deployment');
    expect(t.steps.map((s) => `${s.step}:${s.state}`)).toEqual([
      'status:succeeded',
      'power.on:succeeded',
      'dhcp.ack:succeeded',
      'install.storage:succeeded',
      'install.image:succeeded',
      'install.customise:failed',
      'status:failed',
    ]);
    const image = t.steps.find((s) => s.step === 'install.image');
    expect(image?.progress).toMatchObject({ done: 4000, total: 4000 });
    expect(image?.firstProgress).toMatchObject({ done: 1000 });
    expect(image === undefined ? undefined : stepDurationMs(image, undefined, 0)).toBe(5000);
    const failed = t.steps.find((s) => s.state === 'failed' && s.step !== 'status');
    expect(failed).toMatchObject({ label: 'Customisation', message: 'command 1 exited 3' });
    expect(failed?.logTail).toContain('about-to-fail');
    // A single moment took the time since the previous row: DHCP 2 s after power-on.
    const [, power, dhcp] = t.steps;
    expect(dhcp === undefined ? undefined : stepDurationMs(dhcp, power, 0)).toBe(2000);
  });

  it('gives the same timeline one event at a time, out of order, or with repeats', () => {
    const events = failingDeploy();
    const batch = buildTimeline(events);
    const live = events.reduce(timelineReducer, EMPTY_TIMELINE);
    expect(live).toEqual(batch);
    expect(buildTimeline([...events].reverse())).toEqual(batch);
    expect(buildTimeline([...events, ...events.slice(3, 6)])).toEqual(batch);
    // A replayed (older) event after the fact changes nothing.
    const first = events[4];
    expect(first === undefined ? batch : timelineReducer(batch, first)).toBe(batch);
  });

  it('shows a running step with its live progress until it ends, then deployed', () => {
    const events = failingDeploy().slice(0, 8);
    const running = buildTimeline(events);
    expect(running.outcome).toBe('running');
    const image = running.steps.at(-1);
    expect(image).toMatchObject({ step: 'install.image', state: 'running' });
    expect(image?.progress).toMatchObject({ done: 3000, total: 4000 });
    expect(image === undefined ? undefined : stepDurationMs(image, undefined, T0 + 29_500)).toBe(
      4500,
    );

    const done = [ev({ step: 'install.image', atS: 30 }), to('deploying', 'deployed', 60)].reduce(
      timelineReducer,
      running,
    );
    expect(done.outcome).toBe('succeeded');
    expect(done.status).toBe('deployed');
    expect(done.steps.at(-1)).toMatchObject({ step: 'status', label: 'deploying → deployed' });
  });

  it('starts afresh on each operation, but not on deploying → deploying (the installer reboot)', () => {
    const first = failingDeploy();
    const again = [
      to('failed_deployment', 'releasing', 100),
      to('releasing', 'ready', 101),
      to('ready', 'allocated', 102),
      to('allocated', 'deploying', 103),
      ev({ step: 'install.reboot', atS: 150 }),
      to('deploying', 'deploying', 151),
      ev({ step: 'dhcp.ack', atS: 160 }),
    ];
    const t = buildTimeline([...first, ...again]);
    expect(t.operation).toBe('deploying');
    expect(t.startedAtMs).toBe(T0 + 103_000);
    expect(t.steps.map((s) => s.step)).toEqual(['status', 'install.reboot', 'status', 'dhcp.ack']);
    expect(t.outcome).toBe('running');
  });

  it('a failure ends steps left running as failed; audit events do not show', () => {
    const t = buildTimeline([
      to('allocated', 'deploying', 0),
      ev({ step: 'install.image', result: 'started', atS: 5 }),
      ev({ kind: 'audit', step: 'machine.lock', atS: 6 }),
      to('deploying', 'failed_deployment', 1800),
    ]);
    expect(t.steps.map((s) => `${s.step}:${s.state}`)).toEqual([
      'status:succeeded',
      'install.image:failed',
      'status:failed',
    ]);
    expect(buildTimeline([]).operation).toBeUndefined();
  });
});
