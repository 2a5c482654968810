/** What every page shares: the API client, the live event stream and the signed-in user. */
import { createContext, useContext, useEffect, useRef } from 'react';
import type { ApiClient } from './api.ts';
import type { EventStream, LiveMessage } from './live.ts';
import type { User } from './types.ts';

/** The signed-in app's services. */
export interface AppServices {
  readonly api: ApiClient;
  readonly stream: EventStream;
  readonly user: User;
}

/** Provided by the signed-in shell. */
export const AppContext = createContext<AppServices | undefined>(undefined);

/** The app's services; only inside the signed-in shell. */
export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (app === undefined) throw new Error('useApp outside the signed-in shell');
  return app;
}

/** Calls `listener` for every live message while mounted (the latest listener, no resubscribe). */
export function useLive(listener: (m: LiveMessage) => void): void {
  const { stream } = useApp();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => stream.subscribe((m) => ref.current(m)), [stream]);
}
