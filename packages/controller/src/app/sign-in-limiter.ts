/**
 * Brute-force limit for password sign-in: at most `maxFailures` failed attempts per username and
 * per client address within a sliding window; beyond that, attempts are refused without checking
 * the password until the oldest failure leaves the window. State is in memory (one controller);
 * a restart forgets it, which only gives an attacker one more window.
 */
import type { Clock } from '@ingot/common';

/** Limits of {@link SignInLimiter}. */
export interface SignInLimits {
  readonly maxFailures: number;
  readonly windowMs: number;
}

/** The default: 10 failures per minute. */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { maxFailures: 10, windowMs: 60_000 };

/** Counts failed sign-ins by key (`user:NAME`, `ip:ADDRESS`). */
export class SignInLimiter {
  readonly #clock: Clock;
  readonly #limits: SignInLimits;
  readonly #failures = new Map<string, number[]>();

  constructor(clock: Clock, limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {
    this.#clock = clock;
    this.#limits = limits;
  }

  /** Failures of `key` still inside the window, oldest first (expired ones are dropped). */
  #recent(key: string): number[] {
    const since = this.#clock.now() - this.#limits.windowMs;
    const kept = (this.#failures.get(key) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, kept);
    return kept;
  }

  /**
   * Milliseconds until any of `keys` may try again, or 0 if all may try now.
   */
  retryAfterMs(keys: readonly string[]): number {
    let wait = 0;
    for (const key of keys) {
      const recent = this.#recent(key);
      const oldest = recent[recent.length - this.#limits.maxFailures];
      if (recent.length >= this.#limits.maxFailures && oldest !== undefined) {
        wait = Math.max(wait, oldest + this.#limits.windowMs - this.#clock.now());
      }
    }
    return wait;
  }

  /** Records a failed attempt against every key. */
  fail(keys: readonly string[]): void {
    const now = this.#clock.now();
    for (const key of keys) this.#failures.set(key, [...this.#recent(key), now]);
    // Bound memory under a spray of usernames: forget the stalest keys first.
    if (this.#failures.size > 10_000) {
      for (const key of [...this.#failures.keys()].slice(0, 1000)) this.#failures.delete(key);
    }
  }
}
