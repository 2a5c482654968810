/** Users and their roles (DESIGN.md §9). */

/** Roles: admins act on everything; users only on machines they own. */
export const ROLES = ['admin', 'user'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** A user. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAtMs: number;
}

/** An API key as stored: only a hash of its secret is kept. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly userId: string;
  readonly secretHash: string;
  readonly name: string;
  readonly createdAtMs: number;
}

/** Whether `user` may see and act on a machine owned by `ownerId`. */
export function mayActOn(user: User, ownerId: string | null): boolean {
  return user.role === 'admin' || ownerId === user.id;
}

/** Whether `user` may see a machine owned by `ownerId` (unowned machines are visible to all). */
export function maySee(user: User, ownerId: string | null): boolean {
  return ownerId === null || mayActOn(user, ownerId);
}
