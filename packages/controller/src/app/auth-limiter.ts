/**
 * Brute-force limits for every credential the controller accepts (docs/operating.md "Security").
 * Failures are counted in the database per source address and per claimed identity, in fixed
 * windows, so every controller sharing one PostgreSQL sees the same counts. The policy:
 *
 * - Past `maxFailuresPerSource` failures of one credential kind from an address, or
 *   `maxFailuresPerIdentity` against one claimed identity (API key id, username, rack, metadata
 *   token key, enrolling hostname), within a window, failures are answered 429 /
 *   RESOURCE_EXHAUSTED with the time left in the window, until the window ends.
 * - Random secrets (API and session keys, tokens, rack secrets: 256 bits) cannot be guessed at
 *   any rate, so their limits never refuse the right secret: an attacker sharing a NAT address
 *   with operators, or knowing a key's public id, cannot lock its holders out. Once this
 *   controller knows an address is over its limit, its wrong attempts cost one read and no write.
 * - Passwords can be guessed: while the address or the username is over its limit, attempts are
 *   refused without checking the password — except that an address which signed in as that user
 *   within `rememberSuccessMs` is not held by the username's lockout (only by its own).
 * - Every lockout ends with its window (`windowMs`); reaching a limit writes one audit event
 *   (`auth.lockout`, by `system`) and a warning log line, naming the kind, address and identity,
 *   never a secret.
 * - A failed attempt costs one upsert; expired counters are pruned at most once per window.
 */
import type { Clock, Logger, Result } from '@ingot/common';
import { err } from '@ingot/common';
import { SYSTEM } from './actor.ts';
import { newAuditEvent } from './audit-event.ts';
import type { AuthFailureCount } from './auth-failure-store.ts';
import type { EventBus, Store } from './ports.ts';

/** The credentials the controller checks, each counted separately. */
export const CREDENTIAL_KINDS = [
  'api-key', // Bearer on /api/v1, ?key= on /ws, MAAS OAuth (the same keys), session keys
  'password', // POST /api/v1/sessions
  'metadata-token', // machines' OAuth tokens on /MAAS/metadata
  'enrollment-token', // rack Register
  'rack-secret', // rack Session, racks reading image files
] as const;

/** One of {@link CREDENTIAL_KINDS}. */
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** Who tried: the kind of credential, the source address, and the identity it claimed. */
export interface AuthAttempt {
  readonly credential: CredentialKind;
  /** The client's address (for metadata: the machine's, as its rack forwarded it). */
  readonly source: string;
  /** The identity claimed (never the secret itself), when the credential names one. */
  readonly identity?: string | undefined;
}

/** An attempt refused by the limiter. */
export interface RateLimited {
  readonly kind: 'rate-limited';
  readonly retryAfterSeconds: number;
}

/** Limits of {@link AuthLimiter}. */
export interface AuthLimits {
  readonly maxFailuresPerSource: number;
  readonly maxFailuresPerIdentity: number;
  readonly windowMs: number;
  /** How long a successful password sign-in exempts its address from that user's lockout. */
  readonly rememberSuccessMs: number;
}

/** The default: 10 failures a minute per address and per identity; successes kept 30 days. */
export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  maxFailuresPerSource: 10,
  maxFailuresPerIdentity: 10,
  windowMs: 60_000,
  rememberSuccessMs: 30 * 24 * 3_600_000,
};

/** Dependencies of {@link AuthLimiter}. */
export interface AuthLimiterDeps {
  readonly store: Pick<Store, 'authFailures' | 'appendEvents'>;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly limits?: AuthLimits | undefined;
}

/** Attacker-chosen strings become keys: bound them. */
const part = (s: string): string => s.slice(0, 128);

/** The counter keys of an attempt. */
function keysOf(a: AuthAttempt): { source: string; identity: string | undefined } {
  return {
    source: `${a.credential}:ip:${part(a.source)}`,
    identity: a.identity === undefined ? undefined : `${a.credential}:id:${part(a.identity)}`,
  };
}

/** Shared brute-force counters and the lockout policy above. */
export class AuthLimiter {
  readonly #d: AuthLimiterDeps;
  readonly #limits: AuthLimits;
  /** Source keys this controller knows are over their limit, until when. */
  readonly #blocked = new Map<string, number>();
  #lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(deps: AuthLimiterDeps) {
    this.#d = deps;
    this.#limits = deps.limits ?? DEFAULT_AUTH_LIMITS;
  }

  /** The limits in force. */
  get limits(): AuthLimits {
    return this.#limits;
  }

  /**
   * Checks a random-secret credential: `verify` runs, and the right secret passes whatever the
   * counters say. A failure from an address this controller knows is over its limit is answered
   * `rate-limited` without a write; any other failure is counted (one write) and answered
   * `rate-limited` when it is over a limit, else with `verify`'s own error.
   */
  async guard<T, E extends { readonly kind: string }>(
    attempt: AuthAttempt,
    verify: () => Promise<Result<T, E>>,
  ): Promise<Result<T, E | RateLimited>> {
    const result = await verify();
    if (result.ok) return result;
    const blockedMs = this.blockedMs(attempt);
    if (blockedMs > 0) return err(rateLimited(blockedMs));
    const waitMs = await this.fail(attempt);
    return waitMs > 0 ? err(rateLimited(waitMs)) : result;
  }

  /** Milliseconds this controller already knows the attempt's source must wait (no I/O). */
  blockedMs(attempt: AuthAttempt): number {
    const key = keysOf(attempt).source;
    const until = this.#blocked.get(key);
    if (until === undefined) return 0;
    const left = until - this.#d.clock.now();
    if (left <= 0) this.#blocked.delete(key);
    return Math.max(0, left);
  }

  /**
   * Counts one failure of `attempt` (one upsert). Returns how long it must wait when a counter is
   * now past its limit (this attempt was one too many), else 0. Writes the lockout event when a
   * counter reaches its limit.
   */
  async fail(attempt: AuthAttempt): Promise<number> {
    const now = this.#d.clock.now();
    const { source, identity } = keysOf(attempt);
    const keys = identity === undefined ? [source] : [source, identity];
    const counts = await this.#d.store.authFailures.recordAuthFailures(
      keys,
      now,
      this.#limits.windowMs,
    );
    let waitMs = 0;
    for (const c of counts) {
      const max =
        c.key === source ? this.#limits.maxFailuresPerSource : this.#limits.maxFailuresPerIdentity;
      if (c.failures === max) await this.#lockedOut(attempt, c, c.key === source, now);
      if (c.failures > max) {
        waitMs = Math.max(waitMs, c.expiresAtMs - now);
        if (c.key === source) this.#remember(source, c.expiresAtMs);
      }
    }
    await this.#prune(now);
    return waitMs;
  }

  /**
   * For passwords, before the expensive check (one read): how long the attempt must wait. The
   * source's own lockout always applies; the identity's does not for a source that signed in as
   * it within `rememberSuccessMs`.
   */
  async passwordWaitMs(attempt: AuthAttempt): Promise<number> {
    const now = this.#d.clock.now();
    const { source, identity } = keysOf(attempt);
    const remembered = rememberKey(attempt);
    const keys = [source, ...(identity === undefined ? [] : [identity, remembered])];
    const rows = await this.#d.store.authFailures.getAuthFailures(keys);
    const live = (key: string): AuthFailureCount | undefined =>
      rows.find((r) => r.key === key && r.expiresAtMs > now);
    let waitMs = 0;
    const src = live(source);
    if (src !== undefined && src.failures >= this.#limits.maxFailuresPerSource) {
      waitMs = src.expiresAtMs - now;
    }
    const id = identity === undefined ? undefined : live(identity);
    if (
      id !== undefined &&
      id.failures >= this.#limits.maxFailuresPerIdentity &&
      live(remembered) === undefined
    ) {
      waitMs = Math.max(waitMs, id.expiresAtMs - now);
    }
    return waitMs;
  }

  /** Remembers a successful password sign-in of `attempt.identity` from `attempt.source`. */
  async succeeded(attempt: AuthAttempt): Promise<void> {
    if (attempt.identity === undefined) return;
    const now = this.#d.clock.now();
    await this.#d.store.authFailures.noteAuthSuccess(
      rememberKey(attempt),
      now,
      now + this.#limits.rememberSuccessMs,
    );
  }

  #remember(source: string, untilMs: number): void {
    this.#blocked.set(source, untilMs);
    // Bounded: a spray from many addresses forgets the oldest entries (the database still counts).
    if (this.#blocked.size > 10_000) {
      for (const key of [...this.#blocked.keys()].slice(0, 1_000)) this.#blocked.delete(key);
    }
  }

  async #lockedOut(
    attempt: AuthAttempt,
    count: AuthFailureCount,
    bySource: boolean,
    now: number,
  ): Promise<void> {
    const retryAfterSeconds = Math.ceil((count.expiresAtMs - now) / 1000);
    const who = bySource
      ? `from ${part(attempt.source)}`
      : `for ${part(attempt.identity ?? '')} (from ${part(attempt.source)})`;
    const message = `Too many failed ${attempt.credential} attempts ${who}: limited for ${retryAfterSeconds} s`;
    const data = {
      credential: attempt.credential,
      scope: bySource ? 'source' : 'identity',
      source: part(attempt.source),
      ...(attempt.identity === undefined ? {} : { identity: part(attempt.identity) }),
      failures: count.failures,
      retry_after_seconds: retryAfterSeconds,
    };
    this.#d.logger?.warn('authentication lockout', data);
    const events = await this.#d.store.appendEvents(
      [newAuditEvent(SYSTEM, 'auth.lockout', message, now, { data })],
      now,
    );
    this.#d.bus.publish(events);
  }

  async #prune(now: number): Promise<void> {
    if (now - this.#lastPruneMs < this.#limits.windowMs) return;
    this.#lastPruneMs = now;
    await this.#d.store.authFailures.pruneAuthFailures(now, 10_000);
  }
}

function rememberKey(a: AuthAttempt): string {
  return `${a.credential}:ok:${part(a.identity ?? '')}@${part(a.source)}`;
}

/** The refusal for a wait of `waitMs`. */
export function rateLimited(waitMs: number): RateLimited {
  return { kind: 'rate-limited', retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}
