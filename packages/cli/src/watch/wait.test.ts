import { describe, expect, it } from 'vitest';
import { EXIT } from '../exit-codes.ts';
import { deployEvents, failedDeployEvents } from './testdata.ts';
import { exitCodeOf, summary, WaitTracker, type WaitOutcome } from './wait.ts';
import type { StreamEvent } from './event.ts';

const lab1 = { id: 'm-1', hostname: 'lab-1' };

function follow(tracker: WaitTracker, events: readonly StreamEvent[]): WaitOutcome | undefined {
  for (const e of events) {
    const outcome = tracker.observe(e);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

describe('WaitTracker and summary', () => {
  it('a deploy that reaches deployed succeeds: exit 0 and one summary line', () => {
    const outcome = follow(new WaitTracker('deploy', 'deploying'), deployEvents());
    expect(outcome).toEqual({ kind: 'succeeded', status: 'deployed' });
    if (outcome === undefined) return;
    expect(exitCodeOf(outcome)).toBe(EXIT.ok);
    expect(summary('deploy', outcome, lab1, 78_240)).toBe('deployed lab-1 in 78.2 s\n');
  });

  it('keeps waiting through deploying → deploying (the installer’s reboot)', () => {
    const t = new WaitTracker('deploy', 'deploying');
    const [first] = deployEvents();
    if (first === undefined) throw new Error('no events');
    expect(
      t.observe({ ...first, kind: 'transition', fromStatus: 'deploying', toStatus: 'deploying' }),
    ).toBeUndefined();
  });

  it('a failed step ends it with the step, its message and the log tail: exit 3', () => {
    const outcome = follow(new WaitTracker('deploy', 'deploying'), failedDeployEvents());
    expect(outcome).toMatchObject({
      kind: 'failed',
      status: 'failed_deployment',
      step: 'install.customise',
    });
    if (outcome === undefined) return;
    expect(exitCodeOf(outcome)).toBe(EXIT.failed);
    expect(summary('deploy', outcome, lab1, 47_300)).toBe(
      [
        'failed_deployment at install.customise: exit status 3: about-to-fail (lab-1, after 47.3 s)',
        'log tail:',
        '    step install.customise: running 1 command',
        '    about-to-fail',
        'next: ingot machines release m-1; all events: ingot events --machine m-1',
        '',
      ].join('\n'),
    );
  });

  it('shows only the last 20 lines of a long log tail', () => {
    const events = failedDeployEvents();
    const failed = events.find((e) => e.result === 'failed');
    if (failed === undefined) throw new Error('no failed event');
    const log = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n');
    const patched = events.map((e) => (e === failed ? { ...e, data: { log_tail: log } } : e));
    const outcome = follow(new WaitTracker('deploy', 'deploying'), patched);
    if (outcome === undefined) throw new Error('no outcome');
    const text = summary('deploy', outcome, lab1, 1000);
    expect(text).toContain('log tail (last 20 lines):\n    line 31\n');
    expect(text).toContain('    line 50\n');
    expect(text).not.toContain('line 30\n');
  });

  it('an abort (deploying → allocated) is a failure too, with the transition’s message', () => {
    const [first] = deployEvents();
    if (first === undefined) throw new Error('no events');
    const outcome = new WaitTracker('deploy', 'deploying').observe({
      ...first,
      step: 'abort',
      message: 'Aborted by ops',
      fromStatus: 'deploying',
      toStatus: 'allocated',
    });
    expect(outcome).toEqual({
      kind: 'failed',
      status: 'allocated',
      step: undefined,
      message: 'Aborted by ops',
      logTail: undefined,
    });
  });

  it('a release of an allocated machine is done at once (its response says ready)', () => {
    expect(new WaitTracker('release', 'ready').settledAlready()).toEqual({
      kind: 'succeeded',
      status: 'ready',
    });
    expect(new WaitTracker('release', 'releasing').settledAlready()).toBeUndefined();
  });

  it('commission waits for ready; failed_commissioning fails', () => {
    const [first] = deployEvents();
    if (first === undefined) throw new Error('no events');
    const t = new WaitTracker('commission', 'commissioning');
    expect(
      t.observe({ ...first, fromStatus: 'commissioning', toStatus: 'failed_commissioning' }),
    ).toMatchObject({ kind: 'failed', status: 'failed_commissioning' });
    const ok = new WaitTracker('commission', 'commissioning').observe({
      ...first,
      fromStatus: 'commissioning',
      toStatus: 'ready',
    });
    if (ok === undefined) throw new Error('no outcome');
    expect(summary('commission', ok, lab1, 45_000)).toBe('commissioned lab-1 in 45.0 s\n');
  });

  it('timed out: exit 4, the status and last step, and how to keep following', () => {
    const t = new WaitTracker('deploy', 'deploying');
    follow(t, deployEvents().slice(0, 8));
    const outcome = t.timedOut();
    expect(exitCodeOf(outcome)).toBe(EXIT.timedOut);
    expect(summary('deploy', outcome, lab1, 600_000, '10m')).toBe(
      'timed out after 10m: lab-1 is still deploying (last step: install.image started).\n' +
        'The deploy goes on; follow it with: ingot events --follow --machine m-1\n',
    );
  });

  it('exit codes are distinct', () => {
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
  });
});
