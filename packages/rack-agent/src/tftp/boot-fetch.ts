/**
 * Turns a finished TFTP transfer into the boot events HTTP boot also records (`boot.nbp`,
 * `boot.config` …), so a machine's timeline looks the same whichever protocol it used.
 */
import { asBootStep, type BootFetchListener } from '../boot/boot-events.ts';
import type { TftpTransferReport } from './server.ts';

/** Reports a transfer of a known machine's file; anything else is not a machine's step. */
export function reportTftpFetch(report: TftpTransferReport, onFetch: BootFetchListener): void {
  const step = asBootStep(report.file?.step);
  const machineId = report.file?.machineId;
  if (step === undefined || machineId === undefined) return;
  onFetch({
    machineId,
    step,
    path: report.path,
    protocol: 'tftp',
    result: report.ok ? 'succeeded' : 'failed',
    bytes: report.bytes,
  });
}
