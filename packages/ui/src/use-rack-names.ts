/** Rack names by id, for showing `rack-a` rather than a UUID (loaded once per page). */
import { useEffect, useState } from 'react';
import { useApp } from './app-context.ts';
import type { Rack } from './types.ts';

/** A map from rack id to name; empty until loaded (or when the racks cannot be listed). */
export function useRackNames(): ReadonlyMap<string, string> {
  const { api } = useApp();
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    api.request<Rack[]>('GET', '/api/v1/racks').then(
      (racks) => setNames(new Map(racks.map((r) => [r.id, r.name]))),
      () => undefined,
    );
  }, [api]);
  return names;
}
