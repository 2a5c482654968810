/**
 * Events as they happen: the latest history, then everything live from `/ws`, newest first,
 * filterable by text.
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { errorText } from '../api.ts';
import { useApp, useLive } from '../app-context.ts';
import { ErrorBox, Time } from '../components.tsx';
import { Link } from '../router.tsx';
import type { IngotEvent } from '../types.ts';

const KEEP = 500;
const PAGE = 1000;

/** The events page. */
export function Events(): ReactNode {
  const { api } = useApp();
  const [events, setEvents] = useState<IngotEvent[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [text, setText] = useState('');
  const [showProgress, setShowProgress] = useState(false);

  useEffect(() => {
    // The API lists oldest first: read forward (bounded) and keep the newest.
    void (async () => {
      try {
        let after = 0;
        let kept: IngotEvent[] = [];
        for (let page = 0; page < 200; page++) {
          const batch = await api.request<IngotEvent[]>(
            'GET',
            `/api/v1/events?after=${after}&limit=${PAGE}`,
          );
          kept = [...kept, ...batch].slice(-KEEP);
          const last = batch.at(-1);
          if (batch.length < PAGE || last === undefined) break;
          after = last.seq;
        }
        setEvents((live) => {
          const seen = new Set(kept.map((e) => e.seq));
          return [...kept, ...live.filter((e) => !seen.has(e.seq))].slice(-KEEP);
        });
      } catch (e) {
        setError(errorText(e));
      }
    })();
  }, [api]);
  useLive((m) => {
    if (m.type === 'event') setEvents((list) => [...list, m.event].slice(-KEEP));
  });

  const shown = useMemo(() => {
    const words = text
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    return events
      .filter(
        (e) => showProgress || !(e.result === 'started' && e.data['bytes_done'] !== undefined),
      )
      .filter((e) => {
        const hay =
          `${e.machine_id ?? ''} ${e.rack_id ?? ''} ${e.step} ${e.result} ${e.message} ${e.actor}`.toLowerCase();
        return words.every((w) => hay.includes(w));
      })
      .reverse();
  }, [events, text, showProgress]);

  return (
    <section>
      <div className="toolbar">
        <h2>Events</h2>
        <input
          type="search"
          placeholder="Filter: machine id, step, actor, text…"
          aria-label="Filter events"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <label className="check">
          <input
            type="checkbox"
            checked={showProgress}
            onChange={(e) => setShowProgress(e.target.checked)}
          />{' '}
          progress ticks
        </label>
      </div>
      <ErrorBox error={error} />
      <table className="grid small" aria-label="Events">
        <thead>
          <tr>
            <th>Time</th>
            <th>Machine</th>
            <th>Step</th>
            <th>Result</th>
            <th>Message</th>
            <th>Actor</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.seq} className={e.result === 'failed' ? 'row-bad' : undefined}>
              <td>
                <Time ms={Date.parse(e.occurred_at ?? '')} />
              </td>
              <td>
                {e.machine_id === null ? (
                  '–'
                ) : (
                  <Link to={`/machines/${e.machine_id}`}>{e.machine_id}</Link>
                )}
              </td>
              <td>
                <code>{e.step}</code>
                {e.kind === 'transition' && (
                  <span className="muted">
                    {' '}
                    {e.from_status} → {e.to_status}
                  </span>
                )}
              </td>
              <td>{e.result}</td>
              <td className="clip" title={e.message}>
                {e.message}
              </td>
              <td className="muted">{e.actor}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
