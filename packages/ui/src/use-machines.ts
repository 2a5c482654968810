/**
 * The machines the user may see, kept current from the live stream: an event about a machine
 * reloads that machine (events say what happened, the machine says where it is now); a
 * reconnect reloads the list. No polling.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, errorText } from './api.ts';
import { useApp, useLive } from './app-context.ts';
import type { Machine } from './types.ts';

/** The machine list, or undefined while loading, and the last error. */
export function useMachines(): { machines: Machine[] | undefined; error: string | undefined } {
  const { api } = useApp();
  const [machines, setMachines] = useState<Machine[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const pending = useRef(new Set<string>());
  const timer = useRef<number | undefined>(undefined);

  const loadAll = useCallback(async (): Promise<void> => {
    try {
      setMachines(await api.request<Machine[]>('GET', '/api/v1/machines'));
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api]);

  const flush = useCallback(async (): Promise<void> => {
    const ids = [...pending.current];
    pending.current.clear();
    for (const id of ids) {
      try {
        const m = await api.request<Machine>('GET', `/api/v1/machines/${encodeURIComponent(id)}`);
        setMachines((list) => {
          if (list === undefined) return list;
          const i = list.findIndex((x) => x.id === id);
          return i < 0 ? [...list, m] : list.map((x) => (x.id === id ? m : x));
        });
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          setMachines((list) => list?.filter((x) => x.id !== id));
        }
      }
    }
  }, [api]);

  useEffect(() => {
    void loadAll();
    return () => window.clearTimeout(timer.current);
  }, [loadAll]);

  useLive((m) => {
    if (m.type === 'resync') {
      void loadAll();
      return;
    }
    const id = m.event.machine_id;
    if (id === null) return;
    pending.current.add(id);
    // Several events of one step arrive together: reload each machine once per burst.
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void flush(), 150);
  });

  return { machines, error };
}
