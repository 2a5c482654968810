/** The Hono environment of the MAAS routes: who signed the request, and with which key. */
import type { Hono } from 'hono';
import type { Actor } from '../../app/actor.ts';
import type { User } from '../../domain/user.ts';

/** Set by the OAuth middleware before any route runs. */
export interface MaasEnv {
  Variables: { user: User; actor: Actor; keyId: string };
}

/** The app MAAS routes are registered on. */
export type MaasApp = Hono<MaasEnv>;

/** `path` with and without its trailing slash (MAAS clients send the slash; people forget it). */
export function paths(path: string): string[] {
  return [path, `${path}/`];
}
