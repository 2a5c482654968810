/**
 * PIDs read from files (daemons' `-pf`, PostgreSQL's `postmaster.pid`) before they are signalled.
 * `kill(0)` signals the caller's whole process group, `kill(-1)` every process it may signal,
 * `kill(-n)` group n: a PID file read while its writer had created it but not yet written it
 * (empty text, `Number('') === 0`) once sent SIGTERM to the test runner's group, and with it to
 * `pnpm` and CI (exit 143). Only a positive PID other than init's names one process.
 */

/** Whether `pid` names one process (an integer above 1). */
export function isProcessPid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1;
}

/**
 * The PID on the first line of a PID file's text, or `undefined` when it holds none (empty, still
 * being written, or not a number).
 */
export function parsePidFile(text: string): number | undefined {
  const first = text.split('\n')[0]?.trim() ?? '';
  if (!/^\d+$/.test(first)) return undefined;
  const pid = Number(first);
  return isProcessPid(pid) ? pid : undefined;
}
