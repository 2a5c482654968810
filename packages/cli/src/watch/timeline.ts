/**
 * Renders a machine's events as a live timeline, one line per step:
 *
 *     +12.3 s  install.storage        succeeded GPT on /dev/vda: BIOS boot 1 MiB, …
 *
 * Progress events (repeated `started` events carrying `bytes_done`/`bytes_total`, as the
 * installer posts while it writes the image) become a bar redrawn in place on a terminal, and
 * on anything else (pipes, CI logs) a plain line at 0, 25, 50, 75 and 100 % — never a carriage
 * return. Pure: it returns the text to write, so tests compare it byte for byte.
 */
import { humanBytes } from '../bytes.ts';
import { progressOf, type StreamEvent } from './event.ts';

/** How lines look. */
export interface TimelineOptions {
  /** Redraw progress in place (a terminal), or print occasional plain lines. */
  readonly tty: boolean;
  /** `elapsed`: `+12.3 s` since the first event rendered; `absolute`: the event's ISO time. */
  readonly time: 'elapsed' | 'absolute';
  /** Show the machine id on each line (a stream of several machines). */
  readonly showMachine?: boolean;
  /** Show who did it, `(user:alice)`, after the message. */
  readonly showActor?: boolean;
  /** Terminal width: a redrawn bar line is cut to fit (a wrapped line cannot be redrawn). */
  readonly columns?: number;
}

const BAR_WIDTH = 20;
const STEP_WIDTH = 22;
/** Plain progress lines are printed at these percentages (the first tick of a phase always). */
const PLAIN_EVERY_PERCENT = 25;

/** Stateful renderer: feed it events in order, write what it returns. */
export class Timeline {
  readonly #options: TimelineOptions;
  #t0: number | undefined;
  /** The progress phase being shown, and the next percentage a plain line is due at. */
  #phase: { key: string; nextPercent: number } | undefined;
  /** A terminal bar line is on screen without its newline. */
  #barOpen = false;

  constructor(options: TimelineOptions) {
    this.#options = options;
  }

  /** The text for one event ('' when a plain-mode progress tick is not due). */
  event(e: StreamEvent): string {
    if (this.#t0 === undefined && Number.isFinite(e.occurredAtMs)) this.#t0 = e.occurredAtMs;
    const progress = e.result === 'started' ? progressOf(e) : undefined;
    if (progress !== undefined) return this.#progress(e, progress);
    this.#phase = undefined;
    return this.#closeBar() + this.#line(e) + '\n';
  }

  /** Text that ends an open progress bar line, before anything else is written. */
  end(): string {
    this.#phase = undefined;
    return this.#closeBar();
  }

  #closeBar(): string {
    if (!this.#barOpen) return '';
    this.#barOpen = false;
    return '\n';
  }

  #prefix(e: StreamEvent): string {
    const time =
      this.#options.time === 'absolute'
        ? Number.isFinite(e.occurredAtMs)
          ? new Date(e.occurredAtMs).toISOString()
          : '-'.padEnd(24)
        : elapsed(e.occurredAtMs - (this.#t0 ?? e.occurredAtMs));
    const machine = this.#options.showMachine === true ? `${(e.machineId ?? '-').padEnd(8)} ` : '';
    return `${time}  ${machine}${e.step.padEnd(STEP_WIDTH)} `;
  }

  #line(e: StreamEvent): string {
    const transition = e.toStatus !== null ? ` ${e.fromStatus ?? '-'} → ${e.toStatus}` : '';
    const actor = this.#options.showActor === true && e.actor !== '' ? `  (${e.actor})` : '';
    return `${this.#prefix(e)}${e.result.padEnd(9)} ${e.message}${transition}${actor}`.trimEnd();
  }

  #progress(e: StreamEvent, p: { done: number; total: number }): string {
    const key = `${e.machineId ?? ''}|${e.step}|${e.message}`;
    const percent = Math.floor((p.done / p.total) * 100);
    const amounts = `${humanBytes(p.done)} / ${humanBytes(p.total)}`;
    const newPhase = this.#phase?.key !== key;
    if (newPhase) this.#phase = { key, nextPercent: 0 };
    const phase = this.#phase ?? { key, nextPercent: 0 };
    if (this.#options.tty) {
      const filled = Math.round((percent / 100) * BAR_WIDTH);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
      let line = `${this.#prefix(e)}${bar} ${`${percent}%`.padStart(4)}  ${amounts}  ${e.message}`;
      const columns = this.#options.columns;
      if (columns !== undefined && columns > 1 && line.length >= columns)
        line = line.slice(0, columns - 1);
      const before = newPhase ? this.#closeBar() : '';
      this.#barOpen = true;
      return `${before}\r\x1b[K${line}`;
    }
    if (percent < phase.nextPercent) return '';
    phase.nextPercent =
      percent >= 100
        ? Infinity
        : (Math.floor(percent / PLAIN_EVERY_PERCENT) + 1) * PLAIN_EVERY_PERCENT;
    return `${this.#prefix(e)}${`${percent}%`.padEnd(9)} ${amounts}  ${e.message}\n`;
  }
}

/** `+12.3 s`, right-aligned in 9 columns (`  +12.3 s`). */
export function elapsed(ms: number): string {
  const seconds = Number.isFinite(ms) ? Math.max(ms, 0) / 1000 : 0;
  return `+${seconds.toFixed(1)} s`.padStart(9);
}
