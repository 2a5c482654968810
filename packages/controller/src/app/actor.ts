/** Who asks for something: a signed-in user, a rack agent, or the controller itself. */
import type { User } from '../domain/user.ts';

/** The origin of a request or an observation. */
export type Actor =
  | { readonly kind: 'user'; readonly user: User }
  | { readonly kind: 'rack'; readonly rackId: string }
  /** A machine's boot environment or OS, authenticated by its metadata token. */
  | { readonly kind: 'machine'; readonly machineId: string }
  | { readonly kind: 'system' };

/** How an actor is written in events: `user:alice`, `rack:<id>`, `machine:<id>`, `system`. */
export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.user.username}`;
    case 'rack':
      return `rack:${actor.rackId}`;
    case 'machine':
      return `machine:${actor.machineId}`;
    case 'system':
      return 'system';
  }
}

/** The controller's own actor (timeouts, orchestration). */
export const SYSTEM: Actor = { kind: 'system' };
