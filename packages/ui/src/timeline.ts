/**
 * A machine's live deployment timeline, folded from its events (DESIGN.md §3): the latest
 * operation (commissioning, deploying or releasing) with each step's state, start, end, bytes
 * written and, for a failed step, its error and log tail. Pure: the same events give the same
 * timeline, whether they came from `GET …/events` or live from `/ws`, in one batch or one by one.
 */
import type { ProgressSample } from './progress.ts';
import type { IngotEvent } from './types.ts';

/** Statuses whose entry starts a new operation on the timeline. */
export const OPERATION_STATUSES: ReadonlySet<string> = new Set([
  'commissioning',
  'deploying',
  'releasing',
]);

/** Where a step is. */
export type StepState = 'running' | 'succeeded' | 'failed' | 'info';

/** One row of the timeline. */
export interface TimelineStep {
  /** Unique within the timeline (the seq of the event that opened the row). */
  readonly key: string;
  /** The event step (`install.image`), or `status` for a status change. */
  readonly step: string;
  readonly label: string;
  readonly state: StepState;
  readonly startedAtMs: number | undefined;
  readonly finishedAtMs: number | undefined;
  readonly message: string;
  /** For a status change: the status reached. */
  readonly toStatus?: string | undefined;
  /** Byte progress of an image write: the first and the latest samples. */
  readonly firstProgress?: ProgressSample | undefined;
  readonly progress?: ProgressSample | undefined;
  /** The failed step's log tail (`data.log_tail`). */
  readonly logTail?: string | undefined;
}

/** The timeline of a machine's latest operation. */
export interface Timeline {
  /** `deploying`, `commissioning` or `releasing`; undefined before any operation. */
  readonly operation: string | undefined;
  readonly startedAtMs: number | undefined;
  /** Running while the operation's status holds; then how it ended. */
  readonly outcome: 'running' | 'succeeded' | 'failed' | undefined;
  /** The status the last transition reached. */
  readonly status: string | undefined;
  readonly steps: readonly TimelineStep[];
  /** Highest event seq folded in; older or repeated events are ignored. */
  readonly lastSeq: number;
}

/** The timeline before any event. */
export const EMPTY_TIMELINE: Timeline = {
  operation: undefined,
  startedAtMs: undefined,
  outcome: undefined,
  status: undefined,
  steps: [],
  lastSeq: 0,
};

const LABELS: Readonly<Record<string, string>> = {
  'power.on': 'Power on',
  'power.off': 'Power off',
  'power.cycle': 'Power cycle',
  'dhcp.ack': 'DHCP lease',
  'boot.nbp': 'Network boot program',
  'boot.config': 'Boot configuration',
  'boot.kernel': 'Kernel',
  'boot.initrd': 'Initrd',
  'boot.squashfs': 'Loading ephemeral',
  'image.fetch': 'Image fetch',
  'installer.config': 'Installer configuration',
  'install.storage': 'Partitioning disks',
  'install.image': 'Writing image',
  'install.bootloader': 'Installing bootloader',
  'install.customise': 'Customisation',
  'install.reboot': 'Rebooting into the disk',
  commission: 'Hardware inventory',
  erase: 'Erasing disks',
  timeout: 'Timed out',
};

/** A person's name for an event step. */
export function stepLabel(step: string): string {
  return LABELS[step] ?? step;
}

function timeOf(e: IngotEvent): number | undefined {
  const t = Date.parse(e.occurred_at ?? e.recorded_at ?? '');
  return Number.isNaN(t) ? undefined : t;
}

function progressOf(e: IngotEvent, atMs: number | undefined): ProgressSample | undefined {
  const done = e.data['bytes_done'];
  const total = e.data['bytes_total'];
  if (typeof done !== 'number' || typeof total !== 'number' || atMs === undefined) return undefined;
  return { atMs, done, total };
}

const STATE_OF: Readonly<Record<IngotEvent['result'], StepState>> = {
  started: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  info: 'info',
};

/** Folds one event into the timeline. Events at or below `lastSeq` change nothing. */
export function timelineReducer(t: Timeline, e: IngotEvent): Timeline {
  if (e.seq <= t.lastSeq || e.kind === 'audit')
    return t.lastSeq >= e.seq ? t : { ...t, lastSeq: e.seq };
  const at = timeOf(e);
  const base = { ...t, lastSeq: e.seq };

  if (e.kind === 'transition') {
    const to = e.to_status ?? undefined;
    const row: TimelineStep = {
      key: String(e.seq),
      step: 'status',
      label: `${e.from_status ?? '?'} → ${to ?? '?'}`,
      state: to?.startsWith('failed_') === true ? 'failed' : 'succeeded',
      startedAtMs: at,
      finishedAtMs: at,
      message: e.message,
      toStatus: to,
    };
    // Entering an operation (not re-entering it, as deploying → deploying does) starts afresh.
    if (to !== undefined && OPERATION_STATUSES.has(to) && e.from_status !== to) {
      return {
        ...base,
        operation: to,
        startedAtMs: at,
        outcome: 'running',
        status: to,
        steps: [row],
      };
    }
    // Leaving the operation ends it: still-running steps stop where they are.
    const leaving = t.outcome === 'running' && to !== t.operation;
    const outcome = leaving
      ? to?.startsWith('failed_') === true
        ? 'failed'
        : 'succeeded'
      : t.outcome;
    const steps = leaving
      ? t.steps.map((s) =>
          s.state === 'running' && outcome === 'failed' ? { ...s, state: 'failed' as const } : s,
        )
      : t.steps;
    return { ...base, outcome, status: to, steps: [...steps, row] };
  }

  // A step or power event: update the open row of the same step, or open a new one.
  const state = STATE_OF[e.result];
  const sample = progressOf(e, at);
  const openIndex = t.steps.findLastIndex((s) => s.step === e.step && s.state === 'running');
  if (openIndex >= 0) {
    const open = t.steps[openIndex];
    if (open === undefined) return base;
    const updated: TimelineStep = {
      ...open,
      state: state === 'info' ? open.state : state,
      finishedAtMs: state === 'running' || state === 'info' ? open.finishedAtMs : at,
      message: e.message.length > 0 ? e.message : open.message,
      firstProgress: open.firstProgress ?? sample,
      progress: sample ?? open.progress,
      logTail: logTailOf(e) ?? open.logTail,
    };
    const steps = [...t.steps];
    steps[openIndex] = updated;
    return { ...base, steps };
  }
  const row: TimelineStep = {
    key: String(e.seq),
    step: e.step,
    label: stepLabel(e.step),
    state,
    startedAtMs: at,
    finishedAtMs: state === 'running' ? undefined : at,
    message: e.message,
    firstProgress: sample,
    progress: sample,
    logTail: logTailOf(e),
  };
  return { ...base, steps: [...t.steps, row] };
}

function logTailOf(e: IngotEvent): string | undefined {
  const tail = e.data['log_tail'];
  return typeof tail === 'string' && tail.length > 0 ? tail : undefined;
}

/** The timeline of `events` (any order; duplicates are ignored). */
export function buildTimeline(events: readonly IngotEvent[]): Timeline {
  return [...events].sort((a, b) => a.seq - b.seq).reduce(timelineReducer, EMPTY_TIMELINE);
}

/**
 * How long a row took, or has been running at `nowMs`. A row that is a single moment (a DHCP
 * lease, a status change) took the time since the previous row ended. Undefined when unknown.
 */
export function stepDurationMs(
  s: TimelineStep,
  previous: TimelineStep | undefined,
  nowMs: number,
): number | undefined {
  if (s.startedAtMs === undefined) return undefined;
  if (s.state === 'running') return Math.max(0, nowMs - s.startedAtMs);
  const end = s.finishedAtMs ?? s.startedAtMs;
  if (end !== s.startedAtMs) return end - s.startedAtMs;
  const since = previous?.finishedAtMs ?? previous?.startedAtMs;
  return since === undefined ? undefined : Math.max(0, end - since);
}
