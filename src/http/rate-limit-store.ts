import type { RateLimitDecision, RateLimiter } from '../rate-limit/shared-window-limiter.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;
type LimiterFactory = (options: { name: string; limit: number; windowMs: number }) => RateLimiter;

/**
 * A store for @fastify/rate-limit on the shared sliding windows (shared-window-limiter.ts), so
 * the login and sign-up limits hold across instances like the SEND limit. The plugin constructs
 * the store itself and derives one per route (`child`); each route's limit gets its own windows,
 * named after the route, or `shared` for a limiter several routes use (the per-email one).
 */
export function createRateLimitStore(limiterFor: LimiterFactory) {
  return class SharedWindowStore {
    private readonly limiters = new Map<string, RateLimiter>();

    constructor(
      _globalOptions?: unknown,
      private readonly name = 'shared',
    ) {}

    private limiter(windowMs: number, limit: number): RateLimiter {
      const id = `${windowMs}:${limit}`;
      let limiter = this.limiters.get(id);
      if (!limiter) {
        limiter = limiterFor({ name: `http:${this.name}`, limit, windowMs });
        this.limiters.set(id, limiter);
      }
      return limiter;
    }

    /** The plugin's contract: refused means `current` above `max`; `ttl` is the wait in ms. */
    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      this.limiter(timeWindow, max)
        .acquire(key)
        .then(
          ({ allowed, count, resetMs }: RateLimitDecision) => callback(null, { current: allowed ? count : max + 1, ttl: resetMs }),
          (error: Error) => callback(error),
        );
    }

    child(routeOptions: unknown): SharedWindowStore {
      const route = (routeOptions as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
      const name = route?.url ? `${[route.method].flat().join(',')} ${route.url}` : 'shared';
      return new SharedWindowStore(undefined, name);
    }
  };
}
