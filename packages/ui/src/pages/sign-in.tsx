/** The sign-in page: username and password become a session key (`POST /api/v1/sessions`). */
import { useState, type ReactNode, type SyntheticEvent } from 'react';
import { apiRequest, errorText } from '../api.ts';
import type { Session } from '../session.ts';
import type { User } from '../types.ts';

/** Signs in; calls `onSignedIn` with the new session. */
export function SignIn(props: { onSignedIn: (s: Session) => void }): ReactNode {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: SyntheticEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await apiRequest<{ api_key: string; user: User }>(
        undefined,
        'POST',
        '/api/v1/sessions',
        {
          username: username.trim(),
          password,
        },
      );
      props.onSignedIn({ key: r.api_key, user: r.user });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form onSubmit={(e) => void submit(e)} className="card" aria-label="Sign in">
        <h1>
          <span className="logo">▰</span> Ingot
        </h1>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error !== undefined && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          No password yet? An admin sets one with <code>ingot users set-password NAME</code>.
        </p>
      </form>
    </main>
  );
}
