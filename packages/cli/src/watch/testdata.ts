/** A deploy's events as the controller sends them, for the renderer's golden tests. */
import { toStreamEvent, type StreamEvent } from './event.ts';

const T0 = Date.parse('2026-11-27T05:00:00.000Z');

/** Builds the events of a deploy to disk with five progress ticks while the image is written. */
export function deployEvents(): StreamEvent[] {
  let seq = 100;
  const ev = (
    atS: number,
    step: string,
    result: string,
    message: string,
    extra: Record<string, unknown> = {},
  ): StreamEvent => {
    const e = toStreamEvent({
      seq: ++seq,
      kind: 'step',
      machine_id: 'm-1',
      step,
      result,
      message,
      from_status: null,
      to_status: null,
      actor: 'machine:m-1',
      data: {},
      occurred_at: new Date(T0 + atS * 1000).toISOString(),
      ...extra,
    });
    if (e === undefined) throw new Error('bad test event');
    return e;
  };
  const MiB = 1024 * 1024;
  const tick = (atS: number, done: number): StreamEvent =>
    ev(atS, 'install.image', 'started', 'writing ingot/tiny/amd64', {
      data: { bytes_done: done * MiB, bytes_total: 200 * MiB },
    });
  return [
    ev(0, 'deploy', 'succeeded', 'Deploying ingot tiny', {
      kind: 'transition',
      from_status: 'allocated',
      to_status: 'deploying',
      actor: 'user:ops',
    }),
    ev(0.4, 'power.on', 'succeeded', 'Powered on (PXE once)', { kind: 'power' }),
    ev(2.2, 'dhcp.ack', 'succeeded', '172.31.0.100 to 52:54:00:00:00:01'),
    ev(30.5, 'install.storage', 'started', 'partitioning /dev/vda'),
    ev(
      31.0,
      'install.storage',
      'succeeded',
      'GPT on /dev/vda: BIOS boot 1 MiB, ESP 64 MiB, root 4030 MiB (ext4)',
    ),
    ev(31.1, 'install.image', 'started', 'writing the image'),
    tick(33.1, 0),
    tick(35.1, 40),
    tick(37.1, 80),
    tick(39.1, 120),
    tick(41.1, 160),
    tick(43.1, 200),
    ev(43.5, 'install.image', 'succeeded', 'wrote ingot/tiny/amd64'),
    ev(49.0, 'install.reboot', 'succeeded', 'rebooting into the installed system'),
    ev(75.0, 'deployed', 'succeeded', 'Deployed', {
      kind: 'transition',
      from_status: 'deploying',
      to_status: 'deployed',
    }),
  ];
}

/** A deploy whose customisation command fails: the FAIL event carries the log tail. */
export function failedDeployEvents(): StreamEvent[] {
  const base = deployEvents().slice(0, 5);
  const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
  const more = [
    {
      seq: 200,
      kind: 'step',
      machine_id: 'm-1',
      step: 'install.customise',
      result: 'failed',
      message: 'install.customise failed: exit status 3: about-to-fail',
      actor: 'machine:m-1',
      data: { log_tail: 'step install.customise: running 1 command\nabout-to-fail\n' },
      occurred_at: at(47.2),
    },
    {
      seq: 201,
      kind: 'transition',
      machine_id: 'm-1',
      step: 'deploy_failed',
      result: 'succeeded',
      message: 'install.customise failed: exit status 3: about-to-fail',
      from_status: 'deploying',
      to_status: 'failed_deployment',
      actor: 'machine:m-1',
      data: {},
      occurred_at: at(47.3),
    },
  ].map((j) => {
    const e = toStreamEvent(j);
    if (e === undefined) throw new Error('bad test event');
    return e;
  });
  return [...base, ...more];
}
