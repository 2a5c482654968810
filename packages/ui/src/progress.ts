/**
 * Numbers for people: byte sizes, durations, and the progress of an image write (fraction,
 * rate and time left from two samples). Pure.
 */

/** Bytes in binary units: `512 B`, `1.5 KiB`, `822.0 MiB`, `3.64 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value.toFixed(value >= 100 || unit < 3 ? 1 : 2)} ${units[unit] ?? ''}`;
}

/** A duration: `850 ms`, `4.2 s`, `1 m 05 s`, `1 h 02 m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} m`;
  return `${m} m ${String(s).padStart(2, '0')} s`;
}

/** A progress sample: bytes done of total at a time. */
export interface ProgressSample {
  readonly atMs: number;
  readonly done: number;
  readonly total: number;
}

/** What a progress bar shows. */
export interface ProgressView {
  /** 0…1, clamped. */
  readonly fraction: number;
  /** Whole percent, 0…100 (100 only when done ≥ total). */
  readonly percent: number;
  /** `412.0 MiB of 822.0 MiB`. */
  readonly text: string;
  /** Bytes per second between the first and the latest sample, when both are known. */
  readonly bytesPerSecond: number | undefined;
  /** Milliseconds left at that rate. */
  readonly remainingMs: number | undefined;
}

/**
 * The progress from the first and latest samples of one step. A total of 0 or less is unknown
 * size: the fraction stays 0 and only the bytes done are shown.
 */
export function progressView(
  first: ProgressSample | undefined,
  latest: ProgressSample,
): ProgressView {
  const done = Math.max(0, latest.done);
  const total = latest.total;
  if (!(total > 0)) {
    return {
      fraction: 0,
      percent: 0,
      text: formatBytes(done),
      bytesPerSecond: undefined,
      remainingMs: undefined,
    };
  }
  const fraction = Math.min(1, done / total);
  // Floor, so 99.6 % is not shown as finished.
  const percent = done >= total ? 100 : Math.min(99, Math.floor(fraction * 100));
  let bytesPerSecond: number | undefined;
  let remainingMs: number | undefined;
  if (first !== undefined && latest.atMs > first.atMs && done > first.done) {
    bytesPerSecond = ((done - first.done) * 1000) / (latest.atMs - first.atMs);
    remainingMs = (Math.max(0, total - done) / bytesPerSecond) * 1000;
  }
  return {
    fraction,
    percent,
    text: `${formatBytes(done)} of ${formatBytes(total)}`,
    bytesPerSecond,
    remainingMs,
  };
}
