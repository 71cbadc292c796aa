import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../../src/issuer/rate-limiter.js';

describe('SlidingWindowLimiter', () => {
  it('blocks after maxFailures within the window until the oldest failure slides out', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter({ maxFailures: 2, windowMs: 1000, now: () => now });
    limiter.recordFailure('ip:a');
    now = 400;
    expect(limiter.blockedForMs('ip:a')).toBe(0);
    limiter.recordFailure('ip:a');
    expect(limiter.blockedForMs('ip:a')).toBe(600);
    expect(limiter.blockedForMs('ip:b')).toBe(0);
    now = 1000;
    expect(limiter.blockedForMs('ip:a')).toBe(0); // the first failure left the window
    limiter.recordFailure('ip:a');
    expect(limiter.blockedForMs('ip:a')).toBe(400); // sliding: the failure at 400 still counts
  });

  it('forgets the least recently failed subject below the limit beyond maxSubjects', () => {
    const limiter = new SlidingWindowLimiter({
      maxFailures: 2,
      windowMs: 1000,
      maxSubjects: 2,
      now: () => 0,
    });
    for (const s of ['a', 'b', 'c']) limiter.recordFailure(s);
    expect(limiter.size()).toEqual({ counting: 2, blocked: 0 });
    limiter.recordFailure('b');
    expect(limiter.blockedForMs('b')).toBe(1000);
    // 'a' was forgotten: its next failure is its first again.
    limiter.recordFailure('a');
    expect(limiter.blockedForMs('a')).toBe(0);
  });

  it('rejects unusable options naming the option', () => {
    expect(() => new SlidingWindowLimiter({ maxFailures: 0, windowMs: 1 })).toThrow(/maxFailures/);
    expect(() => new SlidingWindowLimiter({ maxFailures: 1, windowMs: 0 })).toThrow(/windowMs/);
  });
});
