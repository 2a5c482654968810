/**
 * The session key, kept in `sessionStorage`: it lasts as long as the tab and is never shared with
 * other tabs or written to disk by the UI.
 */
import type { User } from './types.ts';

const STORAGE_KEY = 'ingot.session';

/** A signed-in session. */
export interface Session {
  readonly key: string;
  readonly user: User;
}

/** The stored session, if any. */
export function loadSession(): Session | undefined {
  const raw = window.sessionStorage.getItem(STORAGE_KEY);
  if (raw === null) return undefined;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.key === 'string' && typeof s.user?.username === 'string'
      ? (s as Session)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `session` for this tab. */
export function saveSession(session: Session): void {
  window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

/** Forgets the session. */
export function clearSession(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
}
