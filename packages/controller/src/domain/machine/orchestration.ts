/**
 * Deploy orchestration (DESIGN.md §3): which lifecycle action a step reported by a machine or its
 * rack implies. The controller advances only on what the machine and its rack report — through
 * the rack's event stream and through the metadata service alike, so both use this one rule.
 */
import { BOOT_FETCH_STEPS, type StepResult } from '@ingot/common';
import type { MachineAction } from './lifecycle.ts';
import type { Machine } from './machine.ts';

/** The action `e` implies for `machine` in its status, if any. */
export function impliedAction(
  machine: Pick<Machine, 'status' | 'bootPurpose'>,
  e: { readonly step: string; readonly result: StepResult },
): MachineAction | undefined {
  switch (machine.status) {
    case 'deploying':
      if (e.result === 'failed') return 'deploy_failed';
      if (e.step === 'deployed' && e.result === 'succeeded') return 'deployed';
      // The installer is done and reboots: the next network boot must boot the disk. Only once:
      // a later report (the plan is already `local`) changes nothing.
      if (
        e.step === 'install.reboot' &&
        e.result === 'succeeded' &&
        machine.bootPurpose === 'install'
      )
        return 'installed';
      return undefined;
    case 'commissioning':
      if (e.result === 'failed') return 'commission_failed';
      if (e.step === 'commissioned' && e.result === 'succeeded') return 'commissioned';
      return undefined;
    case 'releasing':
      if (e.result === 'failed') return 'release_failed';
      if (e.result !== 'succeeded') return undefined;
      // A release with erase ends when the ephemeral environment reports the erase, not when
      // the machine powers off (it power-cycles into the eraser first).
      if (machine.bootPurpose === 'erase') return e.step === 'erase' ? 'released' : undefined;
      if (e.step === 'power.off' || e.step === 'released') return 'released';
      return undefined;
    case 'new':
    case 'ready':
    case 'allocated':
    case 'deployed':
    case 'failed_commissioning':
    case 'failed_deployment':
    case 'failed_releasing':
    case 'broken':
      // Resting statuses: a report is recorded but changes nothing.
      return undefined;
  }
}

/**
 * {@link BOOT_FETCH_STEPS}: a rack's record of a boot file it served. Ingot's initramfs reports
 * failures under some of the same names through the metadata service; those are its verdict and
 * go through {@link impliedAction}.
 */
const BOOT_TRANSFER_STEPS: ReadonlySet<string> = new Set(BOOT_FETCH_STEPS);

/**
 * The action a step *the rack observed* implies: as {@link impliedAction}, except that a boot
 * file transfer the client abandoned (`boot.*` failed: it went away mid-transfer) implies none.
 * It is no verdict on the operation: the firmware retries (Ingot's iPXE script reboots after
 * 10 s), and the transfer may belong to an earlier boot. A machine powered off mid-download
 * leaves its connection open on the rack until TCP gives up (seen: 24 s later, in the next
 * deploy, which it failed). A machine that never gets further is ended by the status timeout.
 */
export function impliedActionOfRackStep(
  machine: Pick<Machine, 'status' | 'bootPurpose'>,
  e: { readonly step: string; readonly result: StepResult },
): MachineAction | undefined {
  if (e.result === 'failed' && BOOT_TRANSFER_STEPS.has(e.step)) return undefined;
  return impliedAction(machine, e);
}
