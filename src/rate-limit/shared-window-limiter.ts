import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createSlidingWindowLimiter } from '../realtime/rate-limiter.js';
import type { RedisClient } from '../redis/redis-client.js';
import { withTimeout } from '../with-timeout.js';

/**
 * A sliding-window limit of `limit` events per `windowMs` per key, shared by every instance
 * through Redis, so a user spread over two instances behind a load balancer gets the limit once,
 * not once per instance. Any frame or route can use one (SENDs, logins; read receipts and typing
 * later): one limiter per kind of event, keyed by user, address or email.
 *
 * The shared window is a sorted set per key, `{prefix}ratelimit:{name}:{key}`, of the accepted
 * events' timestamps; one Lua script call trims it, counts it, and adds the event if there is
 * room. Timestamps come from the instance's clock (NTP keeps instances within milliseconds).
 *
 * Cheap where it matters. A key that is over the limit costs nothing: each instance keeps the
 * events it accepted itself in a local window (a full local window means the shared one is full
 * too), and remembers until when Redis refused a key, so a client hammering while limited is
 * refused without a round trip. While Redis is away (not ready, an error, no answer within
 * `redisTimeoutMs`) each instance falls back to its local window alone, and asks Redis again
 * after `redisRetryMs`.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** Events in the window, this one included when it was allowed. */
  count: number;
  /** Milliseconds until the oldest event in the window leaves it: when refused, the wait before a retry can pass. */
  resetMs: number;
}

export interface RateLimiter {
  /** Counts one event for `key` when the window has room for it. */
  acquire(key: string | number): Promise<RateLimitDecision>;
}

export interface SharedRateLimiterOptions {
  /** Names the kind of event in the Redis key: `send`, `login-address`, … */
  name: string;
  limit: number;
  windowMs: number;
  redis: Pick<RedisClient, 'isReady' | 'evalSha' | 'eval'>;
  keyPrefix: string;
  log: Logger;
  now?: () => number;
  redisTimeoutMs?: number;
  redisRetryMs?: number;
}

// KEYS[1] the window; ARGV: now, window ms, limit, a unique member for this event.
// Returns {allowed (0/1), count, ms until the oldest event leaves the window}.
const SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
  allowed = 1
end
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then reset = math.max(0, tonumber(oldest[2]) + window - now) end
return {allowed, count, reset}
`;
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

export function createSharedRateLimiter(options: SharedRateLimiterOptions): RateLimiter {
  const { name, limit, windowMs, redis, log } = options;
  const now = options.now ?? Date.now;
  const redisTimeoutMs = options.redisTimeoutMs ?? 250;
  const redisRetryMs = options.redisRetryMs ?? 1_000;
  const local = createSlidingWindowLimiter({ limit, windowMs });
  /** Until when Redis refused a key: asking again before then cannot change the answer. */
  const refusedUntil = new Map<string, number>();
  const memberTag = randomBytes(4).toString('hex');
  let sequence = 0;
  let redisAwayUntil = 0;
  let redisAway = false;
  let lastSweep = 0;

  const redisKey = (key: string) => `${options.keyPrefix}ratelimit:${name}:${key}`;

  async function runScript(key: string, at: number, member: string): Promise<RateLimitDecision> {
    const call = { keys: [redisKey(key)], arguments: [String(at), String(windowMs), String(limit), member] };
    let reply: unknown;
    try {
      reply = await redis.evalSha(SCRIPT_SHA, call);
    } catch (error) {
      // A restarted Redis has forgotten the script: send it once in full.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await redis.eval(SCRIPT, call);
    }
    const [allowed, count, resetMs] = reply as [number, number, number];
    return { allowed: allowed === 1, count, resetMs };
  }

  function localDecision(key: string, at: number): RateLimitDecision {
    const allowed = local.tryAcquire(key, at);
    return { allowed, count: local.count(key, at), resetMs: local.retryAfterMs(key, at) };
  }

  function sweep(at: number): void {
    if (at - lastSweep < windowMs * 10) return;
    lastSweep = at;
    for (const [key, until] of refusedUntil) if (until <= at) refusedUntil.delete(key);
  }

  async function acquire(rawKey: string | number): Promise<RateLimitDecision> {
    const key = String(rawKey);
    const at = now();
    sweep(at);
    const localWait = local.retryAfterMs(key, at);
    if (localWait > 0) return { allowed: false, count: limit, resetMs: localWait };
    const refusedWait = (refusedUntil.get(key) ?? 0) - at;
    if (refusedWait > 0) return { allowed: false, count: limit, resetMs: refusedWait };
    if (!redis.isReady || at < redisAwayUntil) return localDecision(key, at);

    try {
      const member = `${at}:${memberTag}:${(sequence += 1)}`;
      const decision = await withTimeout(runScript(key, at, member), redisTimeoutMs, `rate limit ${name}`);
      if (redisAway) log.info({ limiter: name }, 'rate limit: Redis is back; the limit is shared again');
      redisAway = false;
      if (decision.allowed) local.tryAcquire(key, at);
      if (!decision.allowed) refusedUntil.set(key, at + decision.resetMs);
      return decision;
    } catch (error) {
      if (!redisAway)
        log.warn({ err: error, limiter: name }, 'rate limit: Redis unavailable; each instance limits on its own until it is back');
      redisAway = true;
      redisAwayUntil = at + redisRetryMs;
      return localDecision(key, at);
    }
  }

  return { acquire };
}

/** Counts one event of `key`; over the limit, throws the one RATE_LIMITED error every route and frame answers with. */
export async function enforceLimit(limiter: Pick<RateLimiter, 'acquire'>, key: string | number, what: string): Promise<void> {
  const decision = await limiter.acquire(key);
  if (decision.allowed) return;
  throw new AppError('RATE_LIMITED', `rate limit exceeded: too many ${what} per second`, {
    retryAfterSeconds: Math.max(1, Math.ceil(decision.resetMs / 1000)),
  });
}
