/** The signed-in app: header, navigation, live indicator, and the page for the current path. */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { createApiClient } from './api.ts';
import { AppContext, type AppServices } from './app-context.ts';
import { openEventStream, type EventStream, type LiveState } from './live.ts';
import { Link, navigate, usePath } from './router.tsx';
import type { Session } from './session.ts';
import { Machines } from './pages/machines.tsx';
import { MachinePage } from './pages/machine-page.tsx';
import { Racks, RackPage } from './pages/racks.tsx';
import { Images } from './pages/images.tsx';
import { Events } from './pages/events.tsx';

const LIVE_TEXT: Readonly<Record<LiveState, string>> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: 'offline',
};

function page(path: string): ReactNode {
  const parts = path.split('/').filter((p) => p.length > 0);
  const [section, id] = parts;
  if (section === undefined || (section === 'machines' && id === undefined)) return <Machines />;
  if (section === 'machines' && id !== undefined)
    return <MachinePage id={decodeURIComponent(id)} />;
  if (section === 'racks')
    return id === undefined ? <Racks /> : <RackPage id={decodeURIComponent(id)} />;
  if (section === 'images') return <Images />;
  if (section === 'events') return <Events />;
  return (
    <section>
      <h2>Not found</h2>
      <p>
        Nothing at <code>{path}</code>. <Link to="/machines">Machines</Link>
      </p>
    </section>
  );
}

/** The shell around every signed-in page. */
export function Shell(props: { session: Session; onSignedOut: () => void }): ReactNode {
  const { session, onSignedOut } = props;
  const path = usePath();
  // The latest sign-out handler, so that a new one does not rebuild the services.
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;
  const api = useMemo(() => createApiClient(session.key, () => signedOut.current()), [session.key]);
  // The socket is opened in an effect (and closed in its cleanup), never during render.
  const [stream, setStream] = useState<EventStream | undefined>();
  const [live, setLive] = useState<LiveState>('connecting');
  useEffect(() => {
    const s = openEventStream(session.key);
    setStream(s);
    setLive(s.state());
    const off = s.onState(setLive);
    return () => {
      off();
      s.close();
    };
  }, [session.key]);
  const services = useMemo<AppServices | undefined>(
    () => (stream === undefined ? undefined : { api, stream, user: session.user }),
    [api, stream, session.user],
  );
  useEffect(() => {
    if (path === '/' || path === '/sign-in') navigate('/machines');
  }, [path]);

  const signOut = async (): Promise<void> => {
    try {
      await api.request('DELETE', '/api/v1/sessions/current');
    } finally {
      onSignedOut();
    }
  };
  const nav = (to: string, text: string): ReactNode => (
    <Link to={to} className={path.startsWith(to) ? 'active' : undefined}>
      {text}
    </Link>
  );

  return (
    <AppContext.Provider value={services}>
      <header className="top">
        <span className="brand">
          <span className="logo">▰</span> Ingot
        </span>
        <nav>
          {nav('/machines', 'Machines')}
          {nav('/racks', 'Racks')}
          {nav('/images', 'Images')}
          {nav('/events', 'Events')}
        </nav>
        <span className={`live live-${live}`} data-testid="live" title="Events arrive over /ws">
          ● {LIVE_TEXT[live]}
        </span>
        <span className="who">
          {session.user.username} <small>({session.user.role})</small>
        </span>
        <button type="button" className="link" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main className="page">{services === undefined ? null : page(path)}</main>
    </AppContext.Provider>
  );
}
