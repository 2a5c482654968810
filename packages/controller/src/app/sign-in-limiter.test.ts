import { FakeClock } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import { SignInLimiter } from './sign-in-limiter.ts';

describe('SignInLimiter', () => {
  it('allows up to the limit, then asks to wait until the oldest failure leaves the window', () => {
    const clock = new FakeClock();
    const limiter = new SignInLimiter(clock, { maxFailures: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs(['user:a', 'ip:1'])).toBe(0);
      limiter.fail(['user:a', 'ip:1']);
      clock.advance(10_000);
    }
    // Failures at 0, 10 and 20 s; now 30 s: the first leaves the window at 60 s.
    expect(limiter.retryAfterMs(['user:a'])).toBe(30_000);
    expect(limiter.retryAfterMs(['ip:1'])).toBe(30_000);
    expect(limiter.retryAfterMs(['user:b', 'ip:2'])).toBe(0);
    clock.advance(30_000);
    expect(limiter.retryAfterMs(['user:a'])).toBe(0);
  });
});
