/** The web UI's entry: sign-in, or the signed-in shell. */
import { StrictMode, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { SignIn } from './pages/sign-in.tsx';
import { Shell } from './shell.tsx';
import { clearSession, loadSession, saveSession, type Session } from './session.ts';
import './styles.css';

function Root(): ReactNode {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  if (session === undefined) {
    return (
      <SignIn
        onSignedIn={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Shell
      session={session}
      onSignedOut={() => {
        clearSession();
        setSession(undefined);
      }}
    />
  );
}

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
