import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.ts';

describe('backoffDelayMs', () => {
  const policy = { initialMs: 200, maxMs: 5000 };

  it('doubles from initialMs and caps at maxMs, with equal jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelayMs(n, policy, () => 0))).toEqual([
      100, 200, 400, 800, 1600, 2500, 2500,
    ]);
    expect([0, 1, 5].map((n) => backoffDelayMs(n, policy, () => 0.999999))).toEqual([
      200, 400, 5000,
    ]);
  });
});
