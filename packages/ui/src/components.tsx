/** Small shared pieces: status badges, times, error boxes, the progress bar. */
import type { ReactNode } from 'react';
import { formatDuration, progressView, type ProgressSample } from './progress.ts';

/** A machine status as a coloured badge. */
export function StatusBadge(props: { status: string }): ReactNode {
  const tone =
    props.status.startsWith('failed_') || props.status === 'broken'
      ? 'bad'
      : ['commissioning', 'deploying', 'releasing'].includes(props.status)
        ? 'busy'
        : props.status === 'deployed' || props.status === 'ready'
          ? 'good'
          : 'neutral';
  return (
    <span className={`badge badge-${tone}`} data-status={props.status}>
      {props.status.replace('_', ' ')}
    </span>
  );
}

/** A time as `HH:MM:SS`, with the full date on hover. */
export function Time(props: { ms: number | undefined }): ReactNode {
  if (props.ms === undefined) return <span className="muted">–</span>;
  const d = new Date(props.ms);
  return (
    <time dateTime={d.toISOString()} title={d.toString()}>
      {d.toLocaleTimeString([], { hour12: false })}
    </time>
  );
}

/** A relative age: `12 s ago`. */
export function Ago(props: { iso: string | null; nowMs: number }): ReactNode {
  if (props.iso === null) return <span className="muted">never</span>;
  const t = Date.parse(props.iso);
  return <span title={props.iso}>{formatDuration(Math.max(0, props.nowMs - t))} ago</span>;
}

/** An error message box (nothing when there is none). */
export function ErrorBox(props: { error: string | undefined }): ReactNode {
  if (props.error === undefined) return null;
  return (
    <p role="alert" className="error">
      {props.error}
    </p>
  );
}

/** A byte progress bar with text, rate and time left. */
export function ProgressBar(props: {
  first: ProgressSample | undefined;
  latest: ProgressSample;
}): ReactNode {
  const v = progressView(props.first, props.latest);
  return (
    <div className="progress" data-testid="progress">
      <progress max={1} value={v.fraction} aria-label="bytes written" />
      <span>
        {v.text} ({v.percent}%)
        {/* While writing: the rate and time left (once done, the row's duration says it). */}
        {v.bytesPerSecond !== undefined &&
          v.percent < 100 &&
          ` · ${(v.bytesPerSecond / 1048576).toFixed(1)} MiB/s`}
        {v.remainingMs !== undefined &&
          v.percent < 100 &&
          ` · ${formatDuration(v.remainingMs)} left`}
      </span>
    </div>
  );
}
