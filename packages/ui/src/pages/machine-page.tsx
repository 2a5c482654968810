/**
 * One machine: its facts, its actions, and its live timeline. The page listens to the stream
 * before it loads the machine's history, and merges both by event seq, so nothing falls between
 * the two and nothing shows twice.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { errorText } from '../api.ts';
import { useApp, useLive } from '../app-context.ts';
import { ErrorBox, StatusBadge, Time } from '../components.tsx';
import { Link } from '../router.tsx';
import { buildTimeline } from '../timeline.ts';
import { useRackNames } from '../use-rack-names.ts';
import type { IngotEvent, Machine } from '../types.ts';
import { MachineActions } from './machine-actions.tsx';
import { TimelineView } from './timeline-view.tsx';

const PAGE = 1000;

/** Merges events by seq, in order. */
function merge(a: readonly IngotEvent[], b: readonly IngotEvent[]): IngotEvent[] {
  const bySeq = new Map<number, IngotEvent>();
  for (const e of [...a, ...b]) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}

/** The machine page. */
export function MachinePage(props: { id: string }): ReactNode {
  const { api } = useApp();
  const { id } = props;
  const path = `/api/v1/machines/${encodeURIComponent(id)}`;
  const [machine, setMachine] = useState<Machine | undefined>();
  const [events, setEvents] = useState<IngotEvent[]>([]);
  const [error, setError] = useState<string | undefined>();
  const reload = useRef<number | undefined>(undefined);
  const rackNames = useRackNames();

  const loadMachine = useCallback(async (): Promise<void> => {
    try {
      setMachine(await api.request<Machine>('GET', path));
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, path]);

  const loadEvents = useCallback(async (): Promise<void> => {
    let after = 0;
    for (let page = 0; page < 100; page++) {
      const batch = await api.request<IngotEvent[]>(
        'GET',
        `${path}/events?after=${after}&limit=${PAGE}`,
      );
      setEvents((current) => merge(current, batch));
      const last = batch.at(-1);
      if (batch.length < PAGE || last === undefined) break;
      after = last.seq;
    }
  }, [api, path]);

  useEffect(() => {
    setMachine(undefined);
    setEvents([]);
    void loadMachine();
    loadEvents().catch((e: unknown) => setError(errorText(e)));
    return () => window.clearTimeout(reload.current);
  }, [loadMachine, loadEvents]);

  useLive((m) => {
    if (m.type === 'resync') {
      void loadMachine();
      void loadEvents();
      return;
    }
    if (m.event.machine_id !== id) return;
    setEvents((current) => merge(current, [m.event]));
    window.clearTimeout(reload.current);
    reload.current = window.setTimeout(() => void loadMachine(), 150);
  });

  const timeline = useMemo(() => buildTimeline(events), [events]);
  const recent = events.slice(-15).reverse();

  if (machine === undefined) {
    return (
      <section>
        <p>
          <Link to="/machines">← Machines</Link>
        </p>
        <ErrorBox error={error} />
        {error === undefined && <p className="muted">Loading…</p>}
      </section>
    );
  }
  const d = machine.deployment;
  return (
    <section>
      <p>
        <Link to="/machines">← Machines</Link>
      </p>
      <div className="machine-head">
        <h2>
          {machine.hostname} <small className="muted">{machine.id}</small>
        </h2>
        <StatusBadge status={machine.status} />
        {machine.locked && <span className="tag">locked</span>}
        {d?.ephemeral === true && <span className="tag">ephemeral</span>}
      </div>
      <p className="status-message" data-testid="status-message">
        {machine.status_message}
      </p>
      <ErrorBox error={error} />
      <dl className="facts">
        <dt>Owner</dt>
        <dd>{machine.owner ?? '–'}</dd>
        <dt>Power</dt>
        <dd>
          {machine.power.state} ({machine.power.type ?? 'no BMC'})
        </dd>
        <dt>Rack</dt>
        <dd>
          {machine.rack_id === null ? (
            '–'
          ) : (
            <Link to={`/racks/${machine.rack_id}`}>
              {rackNames.get(machine.rack_id) ?? machine.rack_id}
            </Link>
          )}
        </dd>
        <dt>Hardware</dt>
        <dd>
          {machine.arch}, {machine.cpu_count} CPUs, {machine.memory_mib} MiB, {machine.storage_gib}{' '}
          GiB
        </dd>
        <dt>MACs</dt>
        <dd>{machine.macs.join(', ')}</dd>
        <dt>Zone / pool</dt>
        <dd>
          {machine.zone} / {machine.pool}
        </dd>
        <dt>Tags</dt>
        <dd>{machine.tags.length === 0 ? '–' : machine.tags.join(', ')}</dd>
        <dt>Deployment</dt>
        <dd>
          {d === null
            ? '–'
            : `${d.os}/${d.release}${d.kernel === null ? '' : ` kernel ${d.kernel}`}${d.ephemeral ? ', in memory' : ''}${d.has_user_data ? ', user data' : ''}`}
        </dd>
        {machine.status_deadline !== null && (
          <>
            <dt>Deadline</dt>
            <dd>
              <Time ms={Date.parse(machine.status_deadline)} />
            </dd>
          </>
        )}
      </dl>
      <MachineActions machine={machine} onChanged={setMachine} />
      <h3>Timeline</h3>
      <TimelineView timeline={timeline} />
      <h3>Recent events</h3>
      <table className="grid small" aria-label="Recent events">
        <tbody>
          {recent.map((e) => (
            <tr key={e.seq}>
              <td>
                <Time ms={Date.parse(e.occurred_at ?? '')} />
              </td>
              <td>
                <code>{e.step}</code>
              </td>
              <td>{e.result}</td>
              <td className="clip">{e.message}</td>
              <td className="muted">{e.actor}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
