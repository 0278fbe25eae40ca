/**
 * Presence in Redis, shared by every instance (SPEC §8).
 *
 * Keys (all under REDIS_KEY_PREFIX):
 * - `user:presence:{userId}`: exists while the user is online; its TTL (60 s by default) is pushed
 *   forward by every refresh, so it lapses by itself when nobody refreshes it any more.
 * - `presence:connections:{userId}`: sorted set of the user's connections (`{instanceId}:{sessionId}`)
 *   scored by when each expires. Connections are counted per user across instances, and each one
 *   expires on its own: a crashed instance's connections lapse while another tab elsewhere lives on.
 * - `presence:expiries`: sorted set of online users scored by their latest connection expiry, so a
 *   sweep finds users whose connections all lapsed without scanning anyone else.
 *
 * Every change is one Lua script and uses Redis's clock, never the instances' clocks. A script is
 * atomic, so of all the instances connecting, leaving and sweeping at once exactly one sees each
 * user go online (not in `presence:expiries` before) and exactly one sees them go offline (removed
 * from it): ONLINE and OFFLINE are published once per transition.
 */
import type { RedisClient } from '../redis/redis-client.js';

export interface PresenceConnection {
  userId: number;
  connectionId: string;
}

/** A transition seen by a script, with the Redis time (epoch ms) it happened at. */
export interface PresenceChanges {
  at: number;
  userIds: number[];
}

const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/** KEYS[1] expiries, then presence/connections pairs. ARGV[1] ttl ms, then userId/connectionId pairs. */
const TOUCH = `${NOW}
local ttl = tonumber(ARGV[1])
local expiry = now + ttl
local cameOnline = {now}
for i = 2, #KEYS, 2 do
  local userId = ARGV[i]
  local wasOnline = redis.call('ZSCORE', KEYS[1], userId)
  redis.call('ZREMRANGEBYSCORE', KEYS[i + 1], '-inf', now)
  redis.call('ZADD', KEYS[i + 1], expiry, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ttl)
  redis.call('SET', KEYS[i], 'ONLINE', 'PX', ttl)
  redis.call('ZADD', KEYS[1], 'GT', expiry, userId)
  if not wasOnline then cameOnline[#cameOnline + 1] = userId end
end
return cameOnline`;

/** KEYS: expiries, presence, connections. ARGV: userId, connectionId. Returns {now, 1 if went offline}. */
const LEAVE = `${NOW}
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
if #last > 0 then
  redis.call('ZADD', KEYS[1], last[2], ARGV[1])
  return {now, 0}
end
redis.call('DEL', KEYS[2], KEYS[3])
return {now, redis.call('ZREM', KEYS[1], ARGV[1])}`;

/** KEYS[1] expiries. ARGV[1] limit. Users whose latest connection expiry has passed. */
const DUE = `${NOW}
return redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))`;

/**
 * KEYS[1] expiries, then presence/connections pairs. ARGV: userIds. A user goes offline only if
 * every connection has lapsed by now; one that was refreshed meanwhile just gets its score back.
 */
const EXPIRE = `${NOW}
local wentOffline = {now}
for i = 2, #KEYS, 2 do
  local userId = ARGV[i / 2]
  redis.call('ZREMRANGEBYSCORE', KEYS[i + 1], '-inf', now)
  local last = redis.call('ZRANGE', KEYS[i + 1], -1, -1, 'WITHSCORES')
  if #last > 0 then
    redis.call('ZADD', KEYS[1], last[2], userId)
  else
    redis.call('DEL', KEYS[i], KEYS[i + 1])
    if redis.call('ZREM', KEYS[1], userId) == 1 then wentOffline[#wentOffline + 1] = userId end
  end
end
return wentOffline`;

const CHUNK = 500;

export function createPresenceStore(options: { redis: RedisClient; keyPrefix: string; ttlMs: number }) {
  const { redis, keyPrefix } = options;
  const expiriesKey = `${keyPrefix}presence:expiries`;
  const presenceKey = (userId: number) => `${keyPrefix}user:presence:${userId}`;
  const connectionsKey = (userId: number) => `${keyPrefix}presence:connections:${userId}`;

  const changes = (reply: unknown): PresenceChanges => {
    const [at, ...userIds] = reply as (number | string)[];
    return { at: Number(at), userIds: userIds.map(Number) };
  };

  return {
    keys: { expiriesKey, presenceKey, connectionsKey },

    /** Marks connections alive for another TTL; returns the users who were offline until now. */
    async touch(connections: PresenceConnection[]): Promise<PresenceChanges> {
      const result: PresenceChanges = { at: 0, userIds: [] };
      for (let start = 0; start < connections.length; start += CHUNK) {
        const chunk = connections.slice(start, start + CHUNK);
        const reply = changes(
          await redis.eval(TOUCH, {
            keys: [expiriesKey, ...chunk.flatMap((c) => [presenceKey(c.userId), connectionsKey(c.userId)])],
            arguments: [String(options.ttlMs), ...chunk.flatMap((c) => [String(c.userId), c.connectionId])],
          }),
        );
        result.at = reply.at;
        result.userIds.push(...reply.userIds);
      }
      return result;
    },

    /** Removes one connection; true (with the time) when it was the user's last one anywhere. */
    async leave(connection: PresenceConnection): Promise<{ at: number; wentOffline: boolean }> {
      const reply = (await redis.eval(LEAVE, {
        keys: [expiriesKey, presenceKey(connection.userId), connectionsKey(connection.userId)],
        arguments: [String(connection.userId), connection.connectionId],
      })) as number[];
      return { at: Number(reply[0]), wentOffline: Number(reply[1]) === 1 };
    },

    /** Users whose every connection has lapsed (their instance died): removed, and returned. */
    async sweep(limit = CHUNK): Promise<PresenceChanges> {
      const due = ((await redis.eval(DUE, { keys: [expiriesKey], arguments: [String(limit)] })) as string[]).map(Number);
      if (due.length === 0) return { at: 0, userIds: [] };
      return changes(
        await redis.eval(EXPIRE, {
          keys: [expiriesKey, ...due.flatMap((userId) => [presenceKey(userId), connectionsKey(userId)])],
          arguments: due.map(String),
        }),
      );
    },

    /** Which of these users are online: one MGET, whatever the number of users. */
    async onlineAmong(userIds: number[]): Promise<number[]> {
      if (userIds.length === 0) return [];
      const values = await redis.mGet(userIds.map(presenceKey));
      return userIds.filter((_, index) => values[index] !== null && values[index] !== undefined);
    },
  };
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;
