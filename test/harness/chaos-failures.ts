/**
 * For the chaos report: what each machine that ended `failed_*` last did, as the simulator saw
 * it, next to the kills just before. The stored last step alone misleads: a machine whose
 * initramfs could not fetch its squashfs from a dead agent leaves its udhcpc lease (`dhcp.ack`)
 * as the last thing stored, and its FAIL report went to that same dead agent.
 */

/** One step of a machine's simulator timeline (`fleet.timeline(id)`). */
export interface TracedStep {
  /** ms since the epoch. */
  readonly at: number;
  readonly step: string;
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}

/** One kill of the schedule, as performed. */
export interface KillTime {
  /** ms after the schedule started. */
  readonly startedMs: number;
  readonly target: 'agent' | number;
}

/** Why one failed machine stopped, for the report. */
export interface FailureExplanation {
  /**
   * What the machine last did, folded so that equal causes group: `initramfs: boot.squashfs
   * failed`, `halt: installer.config failed`, `no halt, last step http.kernel`.
   */
  readonly cause: string;
  /** One report line: the cause, the last steps and the kills before it, in s after the start. */
  readonly line: string;
}

/** How far back from the machine's last step a kill counts as "just before" it. */
export const KILL_LOOKBACK_MS = 15_000;

/**
 * The initramfs gives up on its squashfs 31 s of waits (plus the attempts) after its first
 * failed attempt (fetch.sh); a failed attempt this long before `initramfs.fail` belongs to it.
 */
const INITRAMFS_RETRY_SPAN_MS = 60_000;

/** Steps that repeat and push the telling ones out of the shown tail. */
const REPEATS = new Set(['retry', 'power.off', 'initramfs.retry']);

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Drops what differs per machine (URLs, addresses, numbers) so equal causes group. */
function fold(s: string): string {
  return s
    .replace(/https?:\/\/\S+/g, '…')
    .replace(/\d+(\.\d+)*/g, '…')
    .slice(0, 80);
}

function stepText(t: TracedStep, originMs: number): string {
  const at = `@+${((t.at - originMs) / 1000).toFixed(1)}`;
  if (t.step === 'boot.error') return `${t.step}{${fold(text(t.detail?.['error']))}}${at}`;
  if (t.step === 'initramfs.fail') return `${t.step}{${text(t.detail?.['step'])}}${at}`;
  if (t.step === 'initramfs.attempts')
    return `initramfs.retry{squashfs ×${text(t.detail?.['n'])}}${at}`;
  return `${t.step}${at}`;
}

/**
 * Explains one failed machine from its timeline and the kills (times relative to `originMs`,
 * the schedule's start). Pure; `last` steps are shown (default 6), retries left out.
 */
export function explainFailure(
  machineId: string,
  status: string,
  trace: readonly TracedStep[],
  kills: readonly KillTime[],
  originMs: number,
  last = 6,
): FailureExplanation {
  const steps = trace.filter((t) => !REPEATS.has(t.step));
  const end = steps.at(-1);
  if (end === undefined) {
    return { cause: 'never booted', line: `  ${machineId} ${status}: the machine never booted` };
  }
  const failed = steps.findLast((t) => t.step === 'initramfs.fail');
  const halt = steps.findLast((t) => t.step === 'halt');
  const cause =
    failed !== undefined
      ? `initramfs: ${text(failed.detail?.['step'])} failed`
      : halt !== undefined
        ? `halt: ${fold(text(halt.detail?.['why']).split(':')[0] ?? '')}`
        : `no halt, last step ${end.step}`;
  // An initramfs that gave up did so after its retries: the kills that matter are those before
  // its first failed attempt.
  const attempts =
    failed === undefined
      ? []
      : trace.filter(
          (t) =>
            t.step === 'initramfs.retry' &&
            t.detail?.['what'] === 'squashfs' &&
            t.at <= failed.at &&
            failed.at - t.at <= INITRAMFS_RETRY_SPAN_MS,
        );
  const decisive = attempts[0] ?? failed ?? halt ?? end;
  const since = (decisive.at - originMs) / 1000;
  const near = kills
    .filter((k) => {
      const at = originMs + k.startedMs;
      return at <= decisive.at && decisive.at - at <= KILL_LOOKBACK_MS;
    })
    .map((k) => {
      const name = k.target === 'agent' ? 'agent' : `controller ${String(k.target)}`;
      const before = since - k.startedMs / 1000;
      return `${name} +${(k.startedMs / 1000).toFixed(1)} (${before.toFixed(1)} s before)`;
    });
  // The failed attempts, folded into one step at the first of them.
  const first = attempts[0];
  const withAttempts =
    first === undefined
      ? steps
      : [
          ...steps.filter((t) => t.at < first.at),
          { at: first.at, step: 'initramfs.attempts', detail: { n: String(attempts.length) } },
          ...steps.filter((t) => t.at >= first.at),
        ];
  const shown = withAttempts
    .slice(-last)
    .map((t) => stepText(t, originMs))
    .join(' ');
  const kills15 = near.length === 0 ? 'none' : near.join(', ');
  return {
    cause,
    line: `  ${machineId} ${status}: ${cause}; last: ${shown}; kills in the ${String(KILL_LOOKBACK_MS / 1000)} s before: ${kills15}`,
  };
}

/** Counts causes: `cause → machines`, most frequent first. */
export function groupCauses(explained: readonly FailureExplanation[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const e of explained) counts.set(e.cause, (counts.get(e.cause) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}
