import { setTimeout as delay } from 'node:timers/promises';

/** Exponential backoff bounds, in milliseconds. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): `initialMs · 2^attempt` capped at `maxMs`, then
 * "equal jitter" — half fixed, half random — so that a rack of agents restarted together does
 * not reconnect in lockstep, yet no delay collapses to zero. `random` returns [0, 1).
 */
export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  // Cap the exponent: 2^31 overflows nothing in floating point, but keeps the math obvious.
  const exponential = policy.initialMs * 2 ** Math.min(attempt, 31);
  const capped = Math.min(policy.maxMs, exponential);
  return Math.round(capped / 2 + random() * (capped / 2));
}

/**
 * Waits `ms`, or less if `signal` aborts. It never rejects: callers check `signal.aborted`
 * after it resolves. Injected so tests of retry policies do not wait for real.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real {@link Sleep}, on Node timers. */
export const realSleep: Sleep = async (ms, signal) => {
  if (signal?.aborted === true) return;
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (error: unknown) {
    // An abort ends the wait early by design; anything else is a bug.
    if (!(error instanceof Error && error.name === 'AbortError')) throw error;
  }
};
