/**
 * Sliding-window limit of N events per window per key (SPEC §6: 10 SEND per second per user).
 * The window really slides: it remembers the timestamps of the last N accepted events, so a burst
 * at the end of one second and the start of the next cannot pass 2N. Memory is N numbers per
 * active key; idle keys are swept.
 */
export interface SlidingWindowLimiter {
  /** True and counted when allowed; false (and not counted) when over the limit. */
  tryAcquire(key: string | number, now?: number): boolean;
  /** Milliseconds until the next event for `key` would be allowed (0 if now). */
  retryAfterMs(key: string | number, now?: number): number;
  /** Events of `key` counted in the window that ends now. */
  count(key: string | number, now?: number): number;
  size(): number;
}

export function createSlidingWindowLimiter(options: { limit: number; windowMs: number }): SlidingWindowLimiter {
  const { limit, windowMs } = options;
  // A ring of the last `limit` accepted timestamps per key.
  const windows = new Map<string | number, { stamps: Float64Array; next: number }>();
  let lastSweep = 0;

  const sweep = (now: number) => {
    if (now - lastSweep < windowMs * 10) return;
    lastSweep = now;
    for (const [key, window] of windows) {
      const newest = window.stamps[(window.next + limit - 1) % limit] ?? 0;
      if (now - newest >= windowMs) windows.delete(key);
    }
  };

  return {
    tryAcquire(key, now = Date.now()) {
      sweep(now);
      let window = windows.get(key);
      if (!window) {
        window = { stamps: new Float64Array(limit).fill(-Infinity), next: 0 };
        windows.set(key, window);
      }
      // The oldest of the last `limit` events must have left the window.
      const oldest = window.stamps[window.next] ?? -Infinity;
      if (now - oldest < windowMs) return false;
      window.stamps[window.next] = now;
      window.next = (window.next + 1) % limit;
      return true;
    },
    retryAfterMs(key, now = Date.now()) {
      const window = windows.get(key);
      if (!window) return 0;
      const oldest = window.stamps[window.next] ?? -Infinity;
      return Math.max(0, Math.ceil(oldest + windowMs - now));
    },
    count(key, now = Date.now()) {
      const window = windows.get(key);
      return window ? window.stamps.filter((stamp) => now - stamp < windowMs).length : 0;
    },
    size: () => windows.size,
  };
}
