/** The deployment timeline: each step with its state, duration, bytes written and failures. */
import { useEffect, useState, type ReactNode } from 'react';
import { ProgressBar, Time } from '../components.tsx';
import { formatDuration } from '../progress.ts';
import { stepDurationMs, type Timeline } from '../timeline.ts';

const ICONS = { running: '◌', succeeded: '✔', failed: '✖', info: '·' } as const;

/** Re-renders every second while `active`, for running durations. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [active]);
  return active ? now : Date.now();
}

/** Shows `timeline`. */
export function TimelineView(props: { timeline: Timeline }): ReactNode {
  const t = props.timeline;
  const running = t.outcome === 'running';
  const now = useNow(running);
  if (t.operation === undefined) {
    return <p className="muted">No commissioning, deployment or release yet.</p>;
  }
  const last = t.steps.at(-1);
  const end = running ? now : (last?.finishedAtMs ?? last?.startedAtMs ?? now);
  return (
    <div
      className="timeline"
      data-testid="timeline"
      data-operation={t.operation}
      data-outcome={t.outcome}
      data-status={t.status}
    >
      <p className="timeline-head">
        <strong>{t.operation}</strong>{' '}
        {t.outcome === 'running' ? 'in progress' : t.outcome === 'failed' ? 'failed' : 'finished'}
        {t.startedAtMs !== undefined && (
          <>
            {' '}
            · started <Time ms={t.startedAtMs} /> · {formatDuration(end - t.startedAtMs)}
          </>
        )}
      </p>
      <ol>
        {t.steps.map((s, i) => {
          const d = stepDurationMs(s, t.steps[i - 1], now);
          return (
            <li
              key={s.key}
              className={`step step-${s.state}`}
              data-step={s.step}
              data-state={s.state}
            >
              <span className="icon" aria-label={s.state}>
                {ICONS[s.state]}
              </span>
              <span className="when">
                <Time ms={s.startedAtMs} />
              </span>
              <span className="what">
                <strong>{s.label}</strong>
                {s.step !== 'status' && s.label !== s.step && (
                  <code className="muted"> {s.step}</code>
                )}
                <span className="msg"> {s.message}</span>
              </span>
              <span className="dur">{d === undefined ? '' : formatDuration(d)}</span>
              {s.progress !== undefined && (
                <div className="detail">
                  <ProgressBar first={s.firstProgress} latest={s.progress} />
                </div>
              )}
              {s.state === 'failed' && s.logTail !== undefined && (
                <details className="detail" open>
                  <summary>Log tail</summary>
                  <pre
                    className="log"
                    data-testid="log-tail"
                    // The error is at the end of the log: show the end first.
                    ref={(el) => {
                      if (el !== null) el.scrollTop = el.scrollHeight;
                    }}
                  >
                    {s.logTail}
                  </pre>
                </details>
              )}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
