/** The admin-role check shared by the use cases that only admins may run. */
import type { DomainError } from '../domain/errors.ts';
import type { Actor } from './actor.ts';

/**
 * `forbidden` when `actor` is a user without the admin role; `undefined` when it may go on. Racks
 * and the system actor pass: they never reach admin-only use cases through the API.
 */
export function requireAdmin(actor: Actor): DomainError | undefined {
  if (actor.kind === 'user' && actor.user.role !== 'admin') {
    return { kind: 'forbidden', detail: 'this action needs the admin role' };
  }
  return undefined;
}
