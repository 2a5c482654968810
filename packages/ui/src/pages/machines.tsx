/** The machines table: status, owner, power, rack, arch, tags; filter by status and text. */
import { useMemo, useState, type ReactNode } from 'react';
import { ErrorBox, StatusBadge } from '../components.tsx';
import { Link } from '../router.tsx';
import { machineMatches } from '../machine-search.ts';
import { MACHINE_STATUSES } from '../types.ts';
import { useMachines } from '../use-machines.ts';
import { useRackNames } from '../use-rack-names.ts';

/** The machines page. */
export function Machines(): ReactNode {
  const { machines, error } = useMachines();
  const rackNames = useRackNames();
  const [status, setStatus] = useState('');
  const [text, setText] = useState('');
  const shown = useMemo(
    () =>
      (machines ?? [])
        .filter((m) => (status === '' || m.status === status) && machineMatches(m, text))
        .sort((a, b) => a.hostname.localeCompare(b.hostname)),
    [machines, status, text],
  );
  const counts = useMemo(() => {
    const c = new Map<string, number>();
    for (const m of machines ?? []) c.set(m.status, (c.get(m.status) ?? 0) + 1);
    return c;
  }, [machines]);

  return (
    <section>
      <div className="toolbar">
        <h2>Machines</h2>
        <label>
          Status{' '}
          <select
            aria-label="Filter by status"
            value={status}
            onChange={(e) => setStatus(e.target.value)}
          >
            <option value="">all ({machines?.length ?? 0})</option>
            {MACHINE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')} ({counts.get(s) ?? 0})
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          placeholder="Search hostname, owner, tag, MAC…"
          aria-label="Search machines"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      <ErrorBox error={error} />
      {machines === undefined ? (
        <p className="muted">Loading…</p>
      ) : (
        <table className="grid" aria-label="Machines">
          <thead>
            <tr>
              <th>Hostname</th>
              <th>Status</th>
              <th>Owner</th>
              <th>Power</th>
              <th>Rack</th>
              <th>Arch</th>
              <th>CPU / memory / disk</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((m) => (
              <tr key={m.id} data-machine={m.id}>
                <td>
                  <Link to={`/machines/${m.id}`}>{m.hostname}</Link>
                  {m.locked && <span title="locked"> 🔒</span>}
                  <div className="muted small">{m.id}</div>
                </td>
                <td>
                  <StatusBadge status={m.status} />
                  <div className="muted small clip" title={m.status_message}>
                    {m.status_message}
                  </div>
                </td>
                <td>{m.owner ?? <span className="muted">–</span>}</td>
                <td>
                  <span className={`power power-${m.power.state}`}>{m.power.state}</span>
                  <div className="muted small">{m.power.type ?? 'no BMC'}</div>
                </td>
                <td>
                  {m.rack_id === null ? (
                    <span className="muted">–</span>
                  ) : (
                    <Link to={`/racks/${m.rack_id}`}>{rackNames.get(m.rack_id) ?? m.rack_id}</Link>
                  )}
                </td>
                <td>{m.arch}</td>
                <td className="small">
                  {m.cpu_count} × · {m.memory_mib} MiB · {m.storage_gib} GiB
                </td>
                <td>
                  {m.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">
                  No machines match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
