/**
 * Operators' sign-in for the web UI: a username and password become a session API key — an
 * ordinary Ingot API key named `session …`, which the browser keeps for the tab and sends as
 * `Bearer` (and as `?key=` on `/ws`). Signing out deletes that key. Passwords are stored as scrypt
 * hashes ({@link hashPassword}); failed attempts are limited per username and per client address.
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { User } from '../domain/user.ts';
import type { Actor } from './actor.ts';
import { newAuditEvent } from './audit-event.ts';
import { hashSecret, newSecret, shortId } from './ids.ts';
import { SESSION_KEY_PREFIX, SESSION_TTL_MS } from './session-key.ts';
import { DECOY_HASH, hashPassword, passwordMatches } from './password-hash.ts';
import type { EventBus, Store } from './ports.ts';
import { rateLimited, type AuthLimiter } from './auth-limiter.ts';

/** Why a sign-in was refused. Both say nothing about whether the username exists. */
export type SignInError =
  | { readonly kind: 'unauthenticated'; readonly detail: string }
  | { readonly kind: 'rate-limited'; readonly retryAfterSeconds: number };

/** Shortest and longest accepted passwords (NIST SP 800-63B §5.1.1.2: at least 8). */
export const PASSWORD_LENGTH = { min: 8, max: 1024 } as const;

const KEY_PATTERN = /^ingot_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** Dependencies of {@link SessionService}. */
export interface SessionServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly limiter: AuthLimiter;
}

/** The sign-in use cases. */
export class SessionService {
  readonly #d: SessionServiceDeps;

  constructor(deps: SessionServiceDeps) {
    this.#d = deps;
  }

  /**
   * Checks the password and issues a session key. Refused (`rate-limited`) without checking the
   * password while the username or the address has too many recent failures.
   */
  async signIn(input: {
    readonly username: string;
    readonly password: string;
    readonly clientAddress: string;
  }): Promise<Result<{ user: User; apiKey: string; expiresAtMs: number }, SignInError>> {
    const attempt = {
      credential: 'password',
      source: input.clientAddress,
      identity: input.username,
    } as const;
    const waitMs = await this.#d.limiter.passwordWaitMs(attempt);
    if (waitMs > 0) return err(rateLimited(waitMs));
    const user = await this.#d.store.getUserByName(input.username);
    const stored = user === undefined ? undefined : await this.#d.store.getPasswordHash(user.id);
    // Unknown users and users without a password cost one scrypt too (no timing oracle).
    const matches = await passwordMatches(input.password, stored ?? DECOY_HASH);
    if (user === undefined || stored === undefined || !matches) {
      const failedWaitMs = await this.#d.limiter.fail(attempt);
      if (failedWaitMs > 0) return err(rateLimited(failedWaitMs));
      return err({ kind: 'unauthenticated', detail: 'wrong username or password' });
    }
    await this.#d.limiter.succeeded(attempt);
    const now = this.#d.clock.now();
    const id = shortId(12);
    const secret = newSecret(32);
    const name = `${SESSION_KEY_PREFIX}${new Date(now).toISOString()} from ${input.clientAddress}`;
    const events = await this.#d.store.transaction(async (tx) => {
      await tx.insertApiKey({
        id,
        userId: user.id,
        secretHash: hashSecret(secret),
        name,
        createdAtMs: now,
      });
      return tx.appendEvents(
        [
          newAuditEvent(
            { kind: 'user', user },
            'session.create',
            `${user.username} signed in`,
            now,
            {
              data: { client: input.clientAddress },
            },
          ),
        ],
        now,
      );
    });
    this.#d.bus.publish(events);
    return ok({ user, apiKey: `ingot_${id}_${secret}`, expiresAtMs: now + SESSION_TTL_MS });
  }

  /**
   * Deletes the session key `apiKey` (already authenticated by the caller). Other keys are not
   * sessions and stay: `conflict`.
   */
  async signOut(user: User, apiKey: string): Promise<Result<void, DomainError>> {
    const id = KEY_PATTERN.exec(apiKey)?.[1];
    const record = id === undefined ? undefined : await this.#d.store.getApiKey(id);
    if (id === undefined || record?.userId !== user.id) {
      return err({ kind: 'unauthenticated', detail: 'missing, malformed or unknown API key' });
    }
    if (!record.name.startsWith(SESSION_KEY_PREFIX)) {
      return err({
        kind: 'conflict',
        detail: 'this API key is not a sign-in session; only session keys can be signed out',
      });
    }
    const now = this.#d.clock.now();
    const events = await this.#d.store.transaction(async (tx) => {
      await tx.deleteApiKey(id);
      const message = `${user.username} signed out (session key ${id})`;
      const event = newAuditEvent({ kind: 'user', user }, 'session.delete', message, now);
      return tx.appendEvents([event], now);
    });
    this.#d.bus.publish(events);
    return ok(undefined);
  }

  /**
   * Sets a user's password: admins for anyone, users for themselves. The password is 8–1024
   * characters.
   */
  async setPassword(
    actor: Actor,
    username: string,
    password: string,
  ): Promise<Result<void, DomainError>> {
    const isAdmin = actor.kind !== 'user' || actor.user.role === 'admin';
    if (!isAdmin && actor.user.username !== username) {
      return err({
        kind: 'forbidden',
        detail: "setting another user's password needs the admin role",
      });
    }
    const length = Array.from(password).length;
    if (length < PASSWORD_LENGTH.min || length > PASSWORD_LENGTH.max) {
      return err({
        kind: 'invalid',
        field: 'password',
        detail: `passwords are ${PASSWORD_LENGTH.min}–${PASSWORD_LENGTH.max} characters`,
      });
    }
    const user = await this.#d.store.getUserByName(username);
    if (user === undefined) return err({ kind: 'not-found', entity: 'user', id: username });
    const hash = await hashPassword(password);
    const now = this.#d.clock.now();
    const events = await this.#d.store.transaction(async (tx) => {
      await tx.setPasswordHash(user.id, hash, now);
      return tx.appendEvents(
        [
          newAuditEvent(actor, 'user.password', `Set the password of ${user.username}`, now, {
            data: { username: user.username },
          }),
        ],
        now,
      );
    });
    this.#d.bus.publish(events);
    return ok(undefined);
  }
}
