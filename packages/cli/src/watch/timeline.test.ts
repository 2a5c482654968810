import { describe, expect, it } from 'vitest';
import { toStreamEvent, type StreamEvent } from './event.ts';
import { Timeline } from './timeline.ts';
import { deployEvents } from './testdata.ts';

const render = (tty: boolean, events: readonly StreamEvent[], columns?: number): string => {
  const t = new Timeline({ tty, time: 'elapsed', columns });
  return events.map((e) => t.event(e)).join('') + t.end();
};

describe('Timeline', () => {
  it('prints one line per step with the time since the first event (plain output)', () => {
    expect(render(false, deployEvents())).toBe(
      [
        '   +0.0 s  deploy                 succeeded Deploying ingot tiny allocated → deploying',
        '   +0.4 s  power.on               succeeded Powered on (PXE once)',
        '   +2.2 s  dhcp.ack               succeeded 172.31.0.100 to 52:54:00:00:00:01',
        '  +30.5 s  install.storage        started   partitioning /dev/vda',
        '  +31.0 s  install.storage        succeeded GPT on /dev/vda: BIOS boot 1 MiB, ESP 64 MiB, root 4030 MiB (ext4)',
        '  +31.1 s  install.image          started   writing the image',
        '  +33.1 s  install.image          0%        0 B / 200.0 MiB  writing ingot/tiny/amd64',
        '  +37.1 s  install.image          40%       80.0 MiB / 200.0 MiB  writing ingot/tiny/amd64',
        '  +39.1 s  install.image          60%       120.0 MiB / 200.0 MiB  writing ingot/tiny/amd64',
        '  +41.1 s  install.image          80%       160.0 MiB / 200.0 MiB  writing ingot/tiny/amd64',
        '  +43.1 s  install.image          100%      200.0 MiB / 200.0 MiB  writing ingot/tiny/amd64',
        '  +43.5 s  install.image          succeeded wrote ingot/tiny/amd64',
        '  +49.0 s  install.reboot         succeeded rebooting into the installed system',
        '  +75.0 s  deployed               succeeded Deployed deploying → deployed',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal, redraws one progress bar in place and ends its line before the next step', () => {
    const out = render(true, deployEvents());
    const bar = (pct: number, filled: number, done: string, at: string): string =>
      `\r\x1b[K  +${at} s  install.image          [${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${`${pct}%`.padStart(4)}  ${done} / 200.0 MiB  writing ingot/tiny/amd64`;
    expect(out).toContain(
      '  +31.1 s  install.image          started   writing the image\n' +
        bar(0, 0, '0 B', '33.1') +
        bar(20, 4, '40.0 MiB', '35.1') +
        bar(40, 8, '80.0 MiB', '37.1') +
        bar(60, 12, '120.0 MiB', '39.1') +
        bar(80, 16, '160.0 MiB', '41.1') +
        bar(100, 20, '200.0 MiB', '43.1') +
        '\n  +43.5 s  install.image          succeeded wrote ingot/tiny/amd64\n',
    );
  });

  it('without a terminal, never writes a carriage return or an escape sequence', () => {
    const out = render(false, deployEvents());
    expect(out).not.toMatch(/[\r\x1b]/);
    // Six progress ticks (0, 20, 40, 60, 80, 100 %), five plain lines: the first, then each
    // crossing of a quarter (20 % is skipped: it crosses none).
    expect(out.match(/install\.image {10}\d+%/g)).toHaveLength(5);
    expect(out).not.toContain(' 20% ');
  });

  it('cuts a redrawn line to the terminal width (a wrapped line cannot be redrawn)', () => {
    const out = render(true, deployEvents(), 60);
    for (const line of out.split('\r\x1b[K').slice(1)) {
      expect(line.split('\n')[0]?.length).toBeLessThan(60);
    }
  });

  it('starts a new bar line when the progress phase changes (download, then write)', () => {
    const [first] = deployEvents();
    if (first === undefined) throw new Error('no events');
    const tick = (seq: number, message: string, done: number): StreamEvent => ({
      ...first,
      seq,
      kind: 'step',
      step: 'install.image',
      result: 'started',
      message,
      fromStatus: null,
      toStatus: null,
      data: { bytes_done: done, bytes_total: 100 },
    });
    const t = new Timeline({ tty: true, time: 'elapsed' });
    const out = [
      tick(1, 'downloading the root image', 50),
      tick(2, 'downloading the root image', 100),
      tick(3, 'writing', 10),
    ]
      .map((e) => t.event(e))
      .join('');
    expect(out.split('\n')).toHaveLength(2);
    expect(out.split('\n')[0]).toContain('100%');
    expect(out.split('\n')[1]).toContain('10%');
  });

  it('shows absolute times, the machine and the actor for `events`', () => {
    const t = new Timeline({ tty: false, time: 'absolute', showMachine: true, showActor: true });
    const e = toStreamEvent({
      seq: 7,
      kind: 'transition',
      machine_id: 'm-1',
      step: 'allocate',
      result: 'succeeded',
      message: 'Allocated to admin',
      from_status: 'ready',
      to_status: 'allocated',
      actor: 'user:admin',
      data: {},
      occurred_at: '2026-11-27T05:00:00.000Z',
    });
    if (e === undefined) throw new Error('not an event');
    expect(t.event(e)).toBe(
      '2026-11-27T05:00:00.000Z  m-1      allocate               succeeded Allocated to admin ready → allocated  (user:admin)\n',
    );
  });
});
