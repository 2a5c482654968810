/**
 * One progress line per transfer: bytes, percent and rate. On a terminal it redraws in place a
 * few times a second; otherwise (logs, CI) it prints a plain line every 10 % and at the end.
 */
import { humanBytes } from './bytes.ts';

/** A running transfer's progress. */
export interface Progress {
  add(bytes: number): void;
  /** Prints the final line. */
  done(): void;
}

/** What progress lines are written to. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

/** Starts reporting a transfer of `totalBytes` named `label`. */
export function createProgress(
  label: string,
  totalBytes: number,
  sink: ProgressSink,
  now: () => number = Date.now,
): Progress {
  const startedMs = now();
  let sent = 0;
  let lastDrawMs = 0;
  let lastDecile = -1;
  const line = (): string => {
    const seconds = Math.max((now() - startedMs) / 1000, 0.001);
    const percent = totalBytes === 0 ? 100 : Math.floor((sent / totalBytes) * 100);
    const rate = sent / 1e6 / seconds;
    return `${label}: ${humanBytes(sent)} / ${humanBytes(totalBytes)}  ${percent}%  ${rate.toFixed(1)} MB/s`;
  };
  return {
    add(bytes) {
      sent += bytes;
      if (sink.isTTY === true) {
        if (now() - lastDrawMs >= 200) {
          lastDrawMs = now();
          sink.write(`\r\x1b[K${line()}`);
        }
        return;
      }
      const decile = totalBytes === 0 ? 10 : Math.floor((sent / totalBytes) * 10);
      if (decile > lastDecile && decile < 10) {
        lastDecile = decile;
        sink.write(`${line()}\n`);
      }
    },
    done() {
      sink.write(sink.isTTY === true ? `\r\x1b[K${line()}\n` : `${line()}\n`);
    },
  };
}
