import { describe, expect, it } from 'vitest';
import { createSlidingWindowLimiter } from '../../src/realtime/rate-limiter.js';

describe('sliding window limiter', () => {
  it('should allow the limit within one window and refuse the next', () => {
    const limiter = createSlidingWindowLimiter({ limit: 10, windowMs: 1000 });
    for (let i = 0; i < 10; i += 1) expect(limiter.tryAcquire('u', 1000 + i)).toBe(true);
    expect(limiter.tryAcquire('u', 1500)).toBe(false);
    expect(limiter.retryAfterMs('u', 1500)).toBe(500);
  });

  it('should not let a burst straddling a window edge pass twice the limit', () => {
    const limiter = createSlidingWindowLimiter({ limit: 10, windowMs: 1000 });
    for (let i = 0; i < 10; i += 1) expect(limiter.tryAcquire('u', 1990 + i)).toBe(true);
    // A fixed window would reset at 2000; a sliding one still sees those ten.
    expect(limiter.tryAcquire('u', 2005)).toBe(false);
    expect(limiter.tryAcquire('u', 2990)).toBe(true);
  });

  it('should keep keys apart', () => {
    const limiter = createSlidingWindowLimiter({ limit: 1, windowMs: 1000 });
    expect(limiter.tryAcquire('a', 0)).toBe(true);
    expect(limiter.tryAcquire('b', 0)).toBe(true);
    expect(limiter.tryAcquire('a', 10)).toBe(false);
  });

  it('should not count refused events', () => {
    const limiter = createSlidingWindowLimiter({ limit: 2, windowMs: 1000 });
    expect(limiter.tryAcquire('u', 0)).toBe(true);
    expect(limiter.tryAcquire('u', 100)).toBe(true);
    for (let t = 200; t < 1000; t += 100) expect(limiter.tryAcquire('u', t)).toBe(false);
    expect(limiter.tryAcquire('u', 1000)).toBe(true);
  });

  it('should forget idle keys', () => {
    const limiter = createSlidingWindowLimiter({ limit: 5, windowMs: 100 });
    for (let i = 0; i < 100; i += 1) limiter.tryAcquire(`user-${i}`, 0);
    limiter.tryAcquire('late', 5000);
    expect(limiter.size()).toBe(1);
  });
});

describe('sliding window limiter count', () => {
  it('should count only the events inside the window that ends now', () => {
    const limiter = createSlidingWindowLimiter({ limit: 5, windowMs: 1000 });
    for (const at of [0, 100, 200]) limiter.tryAcquire('u', at);
    expect(limiter.count('u', 500)).toBe(3);
    expect(limiter.count('u', 1050)).toBe(2);
    expect(limiter.count('nobody', 0)).toBe(0);
  });
});
