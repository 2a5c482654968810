/**
 * Racks with their health (heartbeat age, services, outbox, memory), and one rack's image cache
 * with each file named by the image it belongs to. Reloaded when an event names the rack.
 */
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { errorText } from '../api.ts';
import { useApp, useLive } from '../app-context.ts';
import { Ago, ErrorBox } from '../components.tsx';
import { formatBytes, formatDuration } from '../progress.ts';
import { Link } from '../router.tsx';
import type { Image, Rack, RackDetail } from '../types.ts';

function useClock(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [everyMs]);
  return now;
}

function RackStatus(props: { rack: Rack }): ReactNode {
  const { status, revoked_at: revoked } = props.rack;
  if (revoked !== null) return <span className="badge badge-bad">revoked</span>;
  const tone = status === 'healthy' ? 'good' : status === 'stale' ? 'busy' : 'bad';
  return <span className={`badge badge-${tone}`}>{status}</span>;
}

/** The racks list. */
export function Racks(): ReactNode {
  const { api } = useApp();
  const [racks, setRacks] = useState<Rack[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const now = useClock(5000);
  const load = useCallback(async () => {
    try {
      setRacks(await api.request<Rack[]>('GET', '/api/v1/racks'));
    } catch (e) {
      setError(errorText(e));
    }
  }, [api]);
  useEffect(() => void load(), [load]);
  useLive((m) => {
    if (m.type === 'resync' || m.event.rack_id !== null) void load();
  });
  return (
    <section>
      <h2>Racks</h2>
      <ErrorBox error={error} />
      <table className="grid" aria-label="Racks">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Last heartbeat</th>
            <th>Services</th>
            <th>Uptime</th>
            <th>Outbox</th>
            <th>Boot plans</th>
            <th>Memory</th>
            <th>Interfaces</th>
            <th>Controller</th>
          </tr>
        </thead>
        <tbody>
          {(racks ?? []).map((r) => (
            <tr key={r.id} data-rack={r.id}>
              <td>
                <Link to={`/racks/${r.id}`}>{r.name}</Link>
                <div className="muted small">
                  {r.hostname} · {r.version}
                </div>
              </td>
              <td>
                <RackStatus rack={r} />
              </td>
              <td>
                <Ago iso={r.last_heartbeat} nowMs={now} />
              </td>
              <td className="small">
                {Object.entries(r.health?.services ?? {}).map(([k, v]) => (
                  <span key={k} className={`tag ${v === 'ok' || v === 'running' ? '' : 'tag-bad'}`}>
                    {k}: {v}
                  </span>
                ))}
              </td>
              <td>{r.health === null ? '–' : formatDuration(r.health.uptime_seconds * 1000)}</td>
              <td>{r.health?.outbox_depth ?? '–'}</td>
              <td>{r.health?.boot_plans ?? '–'}</td>
              <td>{r.health === null ? '–' : formatBytes(r.health.rss_bytes)}</td>
              <td className="small">
                {r.interfaces.map((i) => `${i.name} ${i.cidrs.join(' ')}`).join(', ')}
              </td>
              <td className="small" data-testid="rack-controller">
                {r.controller === null ? '–' : r.controller.name}
              </td>
            </tr>
          ))}
          {racks?.length === 0 && (
            <tr>
              <td colSpan={10} className="muted">
                No racks enrolled yet: <code>ingot racks enroll-token</code>, then start an agent.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/** One rack, with its image cache. */
export function RackPage(props: { id: string }): ReactNode {
  const { api } = useApp();
  const [rack, setRack] = useState<RackDetail | undefined>();
  const [images, setImages] = useState<Image[]>([]);
  const [error, setError] = useState<string | undefined>();
  const now = useClock(5000);
  const load = useCallback(async () => {
    try {
      setRack(
        await api.request<RackDetail>('GET', `/api/v1/racks/${encodeURIComponent(props.id)}`),
      );
      setImages(await api.request<Image[]>('GET', '/api/v1/images'));
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, props.id]);
  useEffect(() => void load(), [load]);
  useLive((m) => {
    if (m.type === 'resync' || m.event.rack_id === props.id) void load();
  });
  const names = new Map<string, string>();
  for (const i of images)
    for (const f of i.files) names.set(f.sha256, `${i.os}/${i.release} ${f.name}`);
  const cache = rack?.image_cache ?? null;
  return (
    <section>
      <p>
        <Link to="/racks">← Racks</Link>
      </p>
      <ErrorBox error={error} />
      {rack !== undefined && (
        <>
          <div className="machine-head">
            <h2>{rack.name}</h2>
            <RackStatus rack={rack} />
          </div>
          <p className="muted">
            {rack.hostname} · version {rack.version} · last heartbeat{' '}
            <Ago iso={rack.last_heartbeat} nowMs={now} /> · session on{' '}
            {rack.controller === null ? 'no controller' : rack.controller.name}
          </p>
          <h3>Image cache</h3>
          {cache === null ? (
            <p className="muted">Not reported yet.</p>
          ) : (
            <>
              <div className="progress">
                <progress
                  max={Math.max(1, cache.capacity_bytes)}
                  value={cache.used_bytes}
                  aria-label="cache used"
                />
                <span>
                  {formatBytes(cache.used_bytes)} of {formatBytes(cache.capacity_bytes)} used ·{' '}
                  {cache.files.length} files · reported <Ago iso={cache.reported_at} nowMs={now} />
                </span>
              </div>
              <table className="grid" aria-label="Cached files">
                <thead>
                  <tr>
                    <th>File</th>
                    <th>sha256</th>
                    <th>Size</th>
                    <th>Last used</th>
                  </tr>
                </thead>
                <tbody>
                  {cache.files.map((f) => (
                    <tr key={f.sha256}>
                      <td>
                        {names.get(f.sha256) ?? <span className="muted">not in any image</span>}
                      </td>
                      <td>
                        <code title={f.sha256}>{f.sha256.slice(0, 16)}…</code>
                      </td>
                      <td>{formatBytes(f.size_bytes)}</td>
                      <td>
                        <Ago iso={f.last_used} nowMs={now} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </section>
  );
}
