/** Who asks for something: a signed-in user, a rack agent, or the controller itself. */
import type { User } from '../domain/user.ts';

/** The origin of a request or an observation. */
export type Actor =
  | { readonly kind: 'user'; readonly user: User }
  | { readonly kind: 'rack'; readonly rackId: string }
  | { readonly kind: 'system' };

/** How an actor is written in events: `user:alice`, `rack:<id>`, `system`. */
export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.user.username}`;
    case 'rack':
      return `rack:${actor.rackId}`;
    case 'system':
      return 'system';
  }
}

/** The controller's own actor (timeouts, orchestration). */
export const SYSTEM: Actor = { kind: 'system' };
