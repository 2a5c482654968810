/**
 * `--wait` for `machines deploy|commission|release`: notes where the machine's events stand,
 * performs the action, then follows the machine's events live from that point (so none is
 * missed, even across reconnects), draws them as a timeline and ends with a summary and an exit
 * code (exit-codes.ts).
 */
import { call, type ClientOptions } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import { toStreamEvent } from './event.ts';
import { followEvents } from './follow.ts';
import { Timeline } from './timeline.ts';
import { exitCodeOf, summary, WaitTracker, type WaitAction, type WaitOutcome } from './wait.ts';

/** Where a wait writes and what it can tell about its terminal. */
export interface WaitIo {
  out(text: string): void;
  err(text: string): void;
  readonly tty: boolean;
  readonly columns?: number | undefined;
  /** Aborts the wait when the operator interrupts (Ctrl-C). */
  readonly interrupt?: AbortSignal | undefined;
}

/** One `--wait` run. */
export interface WaitRun {
  readonly client: ClientOptions;
  readonly machineId: string;
  readonly action: WaitAction;
  /** Performs the action; resolves to the machine as the API returns it. */
  issue(): Promise<unknown>;
  readonly timeoutMs: number;
  /** `--timeout` as the operator wrote it, for the summary. */
  readonly timeoutText: string;
  readonly json: boolean;
}

/** The highest event sequence number of a machine (0 when it has none). */
export async function lastEventSeq(client: ClientOptions, machineId: string): Promise<number> {
  const page = 10_000;
  let after = 0;
  for (let i = 0; i < 10_000; i++) {
    const events = await call(
      client,
      'GET',
      `/api/v1/machines/${encodeURIComponent(machineId)}/events?after=${after}&limit=${page}`,
    );
    const list = Array.isArray(events) ? events : [];
    const last = toStreamEvent(list.at(-1));
    if (last !== undefined) after = last.seq;
    if (list.length < page) break;
  }
  return after;
}

const text = (m: unknown, key: string): string => {
  const v = typeof m === 'object' && m !== null ? (m as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : '';
};

/** Runs the action and waits for it; resolves to the exit code. */
export async function runAndWait(run: WaitRun, io: WaitIo): Promise<number> {
  const after = await lastEventSeq(run.client, run.machineId);
  const startedMs = Date.now();
  const machine = await run.issue();
  const who = { id: run.machineId, hostname: text(machine, 'hostname') };
  const tracker = new WaitTracker(run.action, text(machine, 'status'));
  const timeline = new Timeline({ tty: io.tty, time: 'elapsed', columns: io.columns });
  if (!run.json) {
    io.out(
      `${who.hostname || who.id}: ${tracker.status} — ${text(machine, 'status_message')}\n` +
        `following its steps (Ctrl-C stops watching; the ${run.action} goes on)\n`,
    );
  }

  const result: { outcome: WaitOutcome | undefined } = { outcome: tracker.settledAlready() };
  // Read through a call: the follow callback sets it, which TypeScript's narrowing cannot see.
  const outcome = (): WaitOutcome | undefined => result.outcome;
  if (result.outcome === undefined) {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort('timeout'), run.timeoutMs);
    const onInterrupt = (): void => stop.abort('interrupt');
    io.interrupt?.addEventListener('abort', onInterrupt);
    try {
      await followEvents({
        client: run.client,
        machineId: run.machineId,
        after,
        signal: stop.signal,
        onEvent: (e, json) => {
          io.out(run.json ? `${JSON.stringify(json)}\n` : timeline.event(e));
          result.outcome = tracker.observe(e);
          return result.outcome !== undefined;
        },
        onNotice: (notice) => {
          io.out(timeline.end());
          io.err(`ingot: ${notice}\n`);
        },
      });
    } finally {
      clearTimeout(timer);
      io.interrupt?.removeEventListener('abort', onInterrupt);
    }
    if (outcome() === undefined && stop.signal.reason === 'interrupt') {
      io.out(timeline.end());
      io.err(
        `ingot: stopped watching; ${who.hostname || who.id} is ${tracker.status} and carries on ` +
          `(follow it with: ingot events --follow --machine ${who.id})\n`,
      );
      return EXIT.interrupted;
    }
  }
  const final = outcome() ?? tracker.timedOut();
  const elapsedMs = Date.now() - startedMs;
  if (run.json) {
    io.out(
      `${JSON.stringify({
        outcome: final.kind,
        machine_id: who.id,
        status: final.status,
        elapsed_seconds: elapsedMs / 1000,
        ...(final.kind === 'failed'
          ? { step: final.step ?? null, message: final.message, log_tail: final.logTail ?? null }
          : {}),
        ...(final.kind === 'timed-out' ? { last_step: final.lastStep ?? null } : {}),
      })}\n`,
    );
  } else {
    io.out(timeline.end() + summary(run.action, final, who, elapsedMs, run.timeoutText));
  }
  return exitCodeOf(final);
}
