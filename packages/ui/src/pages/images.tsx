/** Boot resources: each image with its files, sizes and checksums. */
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { errorText } from '../api.ts';
import { useApp, useLive } from '../app-context.ts';
import { ErrorBox, Time } from '../components.tsx';
import { formatBytes } from '../progress.ts';
import type { Image } from '../types.ts';

/** The images page. */
export function Images(): ReactNode {
  const { api } = useApp();
  const [images, setImages] = useState<Image[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = useCallback(async () => {
    try {
      setImages(await api.request<Image[]>('GET', '/api/v1/images'));
    } catch (e) {
      setError(errorText(e));
    }
  }, [api]);
  useEffect(() => void load(), [load]);
  // Imports and deletions are audit events with no machine.
  useLive((m) => {
    if (m.type === 'resync' || (m.event.kind === 'audit' && m.event.step.startsWith('image')))
      void load();
  });
  return (
    <section>
      <h2>Images</h2>
      <ErrorBox error={error} />
      <table className="grid" aria-label="Images">
        <thead>
          <tr>
            <th>OS / release</th>
            <th>Arch</th>
            <th>Files</th>
            <th>Size</th>
            <th>Imported</th>
          </tr>
        </thead>
        <tbody>
          {(images ?? []).map((i) => (
            <tr key={i.id}>
              <td>
                <strong>
                  {i.os}/{i.release}
                </strong>
                <div className="muted small">{i.id}</div>
              </td>
              <td>{i.arch}</td>
              <td className="small">
                {i.files.map((f) => (
                  <div key={f.role}>
                    {f.role}: {f.name}{' '}
                    {f.format !== null && <span className="tag">{f.format}</span>}{' '}
                    <code className="muted" title={f.sha256}>
                      {f.sha256.slice(0, 12)}
                    </code>
                  </div>
                ))}
              </td>
              <td>{formatBytes(i.files.reduce((n, f) => n + f.size_bytes, 0))}</td>
              <td>
                <Time ms={Date.parse(i.created_at)} />
              </td>
            </tr>
          ))}
          {images?.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No images yet: <code>ingot images import DIR</code>.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
