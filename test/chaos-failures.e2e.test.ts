// The chaos report's explanation of failed machines (harness/chaos-failures.ts). Fast and
// process-free; it lives in the e2e project, which collects the files under test/.
// The traces are cut from a real run: CHAOS_SEED=260064819, agent through tsx.
import { describe, expect, it } from 'vitest';
import { explainFailure, groupCauses, type TracedStep } from './harness/chaos-failures.ts';

const ORIGIN = 1_000_000;
const KILLS = [
  { startedMs: 3_800, target: 'agent' as const },
  { startedMs: 13_200, target: 1 },
  { startedMs: 23_400, target: 'agent' as const },
  { startedMs: 33_100, target: 1 },
  { startedMs: 38_700, target: 'agent' as const },
];

const at = (s: number, step: string, detail?: Record<string, unknown>): TracedStep => ({
  at: ORIGIN + s * 1000,
  step,
  detail,
});

/** Boot 1 cut by the agent kill at +3.8, boot 2 refused its squashfs by the kill at +23.4. */
const SQUASHFS_REFUSED = [
  at(1.4, 'power.on'),
  at(1.5, 'dhcp.pxe-bios', { ip: '172.31.24.8' }),
  at(9.8, 'boot.error', { error: 'TFTP undionly.kpxe: no answer after 5 retries' }),
  at(19.8, 'boot', { boot: 2 }),
  at(20.1, 'dhcp.pxe-bios', { ip: '172.31.24.8' }),
  at(21.3, 'tftp.nbp'),
  at(22.4, 'http.kernel'),
  at(22.9, 'http.initrd'),
  at(22.9, 'dhcp.udhcpc', { ip: '172.31.24.8' }),
  at(23.5, 'initramfs.fail', { step: 'boot.squashfs', message: 'fetching http://x/y failed' }),
  at(23.5, 'halt', { why: 'fetching http://172.31.16.1:5248/images/87ae?mac=52:f1 failed' }),
  at(23.5, 'power.off'),
];

/** The same boot with the retrying initramfs: 7 attempts from +23.5, the FAIL 31 s later. */
const SQUASHFS_GAVE_UP = [
  ...SQUASHFS_REFUSED.slice(0, 9),
  ...[23.5, 24.5, 26.5, 30.5, 38.5, 46.5, 54.5].map((s, i) =>
    at(s, 'initramfs.retry', { what: 'squashfs', attempt: i + 1, of: 7, reason: 'ECONNREFUSED' }),
  ),
  at(54.5, 'initramfs.fail', { step: 'boot.squashfs', message: 'failed 7 times' }),
  at(54.5, 'halt', { why: 'fetching the root squashfs failed 7 times' }),
  at(54.5, 'power.off'),
];

/** The installer's fetch budget spent while no controller and then no agent answered. */
const INSTALLER_GAVE_UP = (machine: number): TracedStep[] => [
  at(33.5, 'boot', { boot: 3 }),
  at(35.2, 'http.squashfs'),
  at(35.4, 'retry', { why: 'HTTP 502' }),
  at(38.6, 'event-lost', { name: 'installer.config' }),
  at(43.9, 'retry', { why: 'connect ECONNREFUSED 172.31.16.1:5248' }),
  at(45.6 + machine / 10, 'event:installer.config:FAIL'),
  at(45.6 + machine / 10, 'halt', {
    why: 'installer.config failed: GET /MAAS/metadata/latest/install-config: connect ECONNREFUSED 172.31.16.1:5248',
  }),
  at(45.6 + machine / 10, 'power.off'),
];

describe('chaos failure explanations', () => {
  it('names what the machine did last and the kill just before, not the stored last step', () => {
    const e = explainFailure('6rwj6c', 'failed_deployment', SQUASHFS_REFUSED, KILLS, ORIGIN);
    expect(e.cause).toBe('initramfs: boot.squashfs failed');
    // Kills 10.3 and 0.1 s before count; +3.8 is older than the look-back, +38.7 came after.
    expect(e.line).toContain(
      'kills in the 15 s before: controller 1 +13.2 (10.3 s before), agent +23.4 (0.1 s before)',
    );
    expect(e.line).not.toContain('+3.8 (');
    expect(e.line).not.toContain('+38.7');
    expect(e.line).toContain('initramfs.fail{boot.squashfs}@+23.5');
    expect(e.line).not.toContain('power.off');
  });

  it('looks for kills before the first failed attempt of a retrying initramfs, and folds the attempts', () => {
    const e = explainFailure('6rwj6c', 'failed_deployment', SQUASHFS_GAVE_UP, KILLS, ORIGIN);
    expect(e.cause).toBe('initramfs: boot.squashfs failed');
    // Measured from +23.5, where the attempts began, not from the FAIL at +54.5.
    expect(e.line).toContain(
      'kills in the 15 s before: controller 1 +13.2 (10.3 s before), agent +23.4 (0.1 s before)',
    );
    expect(e.line).toContain(
      'initramfs.retry{squashfs ×7}@+23.5 initramfs.fail{boot.squashfs}@+54.5 halt@+54.5',
    );
    expect(e.line).not.toContain('initramfs.retry@');
  });

  it('groups machines that halted for the same reason, whatever their addresses and times', () => {
    const explained = [
      explainFailure('a', 'failed_deployment', INSTALLER_GAVE_UP(1), KILLS, ORIGIN),
      explainFailure('b', 'failed_deployment', INSTALLER_GAVE_UP(2), KILLS, ORIGIN),
      explainFailure('c', 'failed_deployment', SQUASHFS_REFUSED, KILLS, ORIGIN),
    ];
    expect(explained[0]?.cause).toBe('halt: installer.config failed');
    expect(explained[0]?.line).toContain('controller 1 +33.1');
    expect(explained[0]?.line).toContain('agent +38.7');
    expect(explained[0]?.line).not.toContain('retry');
    expect(groupCauses(explained)).toEqual([
      ['halt: installer.config failed', 2],
      ['initramfs: boot.squashfs failed', 1],
    ]);
  });

  it('says so when the machine is still going or never booted', () => {
    const going = explainFailure(
      'd',
      'failed_deployment',
      [at(1, 'power.on'), at(2, 'http.kernel')],
      [],
      ORIGIN,
    );
    expect(going.cause).toBe('no halt, last step http.kernel');
    expect(going.line).toContain('kills in the 15 s before: none');
    expect(explainFailure('e', 'failed_deployment', [], KILLS, ORIGIN).cause).toBe('never booted');
  });
});
