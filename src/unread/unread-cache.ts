/**
 * The unread-count cache: `unread:{roomId}:{userId}` in Redis in front of
 * chat_room_members.unread_count, which stays the source of truth (SPEC §8).
 *
 * Why a cached count is never stale
 * ---------------------------------
 * Plain cache-aside has a race: a reader misses, reads the old count from PostgreSQL, a writer
 * commits and deletes the key, and then the reader stores the old count it read, where it would
 * stay until the key expires. Every key therefore has a generation, `unread:{roomId}:{userId}:gen`:
 * - a writer changes the row in PostgreSQL, commits, and only then bumps the generation and
 *   deletes the value (or sets the value it computed itself, see `write`) in one Lua script;
 * - a reader reads value and generation together (MGET) *before* it reads PostgreSQL, and fills
 *   the key only if the generation is still the one it saw (a script, so compare and SET are one
 *   step), and only with SET NX, so it never overwrites a value a writer put there.
 * A reader whose database read may predate a commit has, by that order, seen the generation from
 * before that commit's invalidation; if the invalidation has happened since, its fill is refused.
 * What remains is the moment between a commit and its invalidation, a few milliseconds in which
 * readers see the value as it was before that commit, as they would from a replica.
 *
 * The persistence consumer deletes rather than increments. An increment is only right if the
 * cached value was read before the commit, and a reader filling between the commit and the
 * increment would be counted twice; deleting is right whatever the reader did.
 *
 * An invalidation that cannot reach Redis is kept and retried every second until it does, so a
 * Redis blip cannot leave a count behind. The TTL bounds what is left if even that is lost (the
 * instance dies with invalidations pending, Redis restarts from an old snapshot).
 *
 * When Redis is not ready the cache steps aside: counts come from PostgreSQL alone.
 */
import type { Logger } from '../logger.js';
import type { StoreResult } from '../messages/message-store.js';
import type { RedisClient } from '../redis/redis-client.js';

export interface RoomMember {
  roomId: number;
  userId: number;
}

export type UnreadLoader = (userId: number, roomIds: number[]) => Promise<Map<number, number>>;

/** A writer's ticket: the generation seen before its transaction, or null when Redis was away. */
export interface WriteTicket {
  member: RoomMember;
  generation: string | null;
}

export interface UnreadCacheOptions {
  redis: RedisClient;
  keyPrefix: string;
  ttlSeconds: number;
  log: Logger;
  /** Retry interval for invalidations that could not reach Redis. */
  retryMs?: number;
  /** Pending invalidations kept at most; past this the TTL is the only guarantee left. */
  maxPending?: number;
}

// Generations outlive values by far: a generation must not vanish while a reader holding it is in flight.
const GENERATION_TTL_SECONDS = 7 * 24 * 3600;
const CHUNK = 500;

/** KEYS: value, generation pairs. ARGV[1]: generation TTL. */
const INVALIDATE = `
for i = 1, #KEYS, 2 do
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[1])
end
return #KEYS / 2`;

/** KEYS: value, generation pairs. ARGV[1]: value TTL, then per pair the generation seen and the count. */
const FILL = `
local filled = 0
for i = 1, #KEYS, 2 do
  local seen = ARGV[i + 1]
  local current = redis.call('GET', KEYS[i + 1]) or ''
  if current == seen then
    if redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ARGV[1], 'NX') then filled = filled + 1 end
  end
end
return filled`;

/**
 * KEYS: value, generation. ARGV: generation seen before the write, count, value TTL, generation TTL.
 * The writer's own count overwrites whatever is cached, unless another writer came in between,
 * in which case nobody knows which count is newer and the key is dropped.
 */
const WRITE = `
local current = redis.call('GET', KEYS[2]) or ''
local stored = 0
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  stored = 1
else
  redis.call('DEL', KEYS[1])
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return stored`;

export const unreadKey = (prefix: string, roomId: number, userId: number) => `${prefix}unread:${roomId}:${userId}`;
export const unreadGenerationKey = (prefix: string, roomId: number, userId: number) => `${unreadKey(prefix, roomId, userId)}:gen`;

export function createUnreadCache(options: UnreadCacheOptions) {
  const { redis, keyPrefix, log } = options;
  const ttl = String(options.ttlSeconds);
  const maxPending = options.maxPending ?? 100_000;
  const pending = new Map<string, RoomMember>();
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const keysOf = (member: RoomMember) => [
    unreadKey(keyPrefix, member.roomId, member.userId),
    unreadGenerationKey(keyPrefix, member.roomId, member.userId),
  ];
  const usable = () => redis.isReady && !closed;

  async function invalidateNow(members: RoomMember[]): Promise<void> {
    for (let start = 0; start < members.length; start += CHUNK) {
      const chunk = members.slice(start, start + CHUNK);
      await redis.eval(INVALIDATE, { keys: chunk.flatMap(keysOf), arguments: [String(GENERATION_TTL_SECONDS)] });
    }
  }

  function keepForRetry(members: RoomMember[], error: unknown): void {
    // Every stored batch lands here while Redis is away: warn when the backlog starts, not per batch.
    const first = pending.size === 0;
    for (const member of members) {
      if (pending.size >= maxPending) {
        log.error({ pending: pending.size }, 'unread cache: too many pending invalidations; the TTL bounds staleness from here');
        break;
      }
      pending.set(`${member.roomId}:${member.userId}`, member);
    }
    if (first) log.warn({ err: error, count: members.length }, 'unread cache: invalidation failed; retrying until Redis answers');
    else log.debug({ err: error, count: members.length, pending: pending.size }, 'unread cache: invalidation failed; kept for retry');
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (retryTimer || closed || pending.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void flushPending();
    }, options.retryMs ?? 1_000);
    retryTimer.unref();
  }

  async function flushPending(): Promise<void> {
    if (pending.size === 0) return;
    const members = [...pending.values()];
    pending.clear();
    try {
      if (!redis.isReady) throw new Error('redis not ready');
      await invalidateNow(members);
      log.info({ count: members.length }, 'unread cache: pending invalidations applied');
    } catch (error) {
      for (const member of members) pending.set(`${member.roomId}:${member.userId}`, member);
      log.debug({ err: error }, 'unread cache: pending invalidations still failing');
      scheduleRetry();
    }
  }

  /** Drops cached counts after their rows changed in PostgreSQL; call only after the commit. */
  async function invalidate(members: RoomMember[]): Promise<void> {
    if (members.length === 0) return;
    try {
      if (!redis.isReady) throw new Error('redis not ready');
      await invalidateNow(members);
    } catch (error) {
      keepForRetry(members, error);
    }
  }

  return {
    /**
     * Wraps the repository's unread read. One MGET for all rooms; only the misses go to
     * PostgreSQL, and they are filled back under their generation. Any Redis failure falls back
     * to PostgreSQL for everything.
     */
    readThrough(load: UnreadLoader): UnreadLoader {
      return async (userId, roomIds) => {
        if (roomIds.length === 0 || !usable()) return load(userId, roomIds);
        const members = roomIds.map((roomId) => ({ roomId, userId }));
        let cached: (string | null)[];
        try {
          cached = await redis.mGet(members.flatMap(keysOf));
        } catch (error) {
          log.debug({ err: error }, 'unread cache: read failed; answering from PostgreSQL');
          return load(userId, roomIds);
        }
        const counts = new Map<number, number>();
        const misses: { roomId: number; generation: string }[] = [];
        roomIds.forEach((roomId, index) => {
          const value = cached[index * 2];
          const count = value === null || value === undefined ? NaN : Number(value);
          if (Number.isInteger(count) && count >= 0) counts.set(roomId, count);
          else misses.push({ roomId, generation: cached[index * 2 + 1] ?? '' });
        });
        if (misses.length === 0) return counts;

        const fresh = await load(
          userId,
          misses.map((miss) => miss.roomId),
        );
        const fills = misses.filter((miss) => fresh.has(miss.roomId));
        for (const miss of fills) counts.set(miss.roomId, fresh.get(miss.roomId)!);
        if (fills.length > 0 && usable()) {
          const keys = fills.flatMap((miss) => keysOf({ roomId: miss.roomId, userId }));
          const args = [ttl, ...fills.flatMap((miss) => [miss.generation, String(fresh.get(miss.roomId))])];
          await redis
            .eval(FILL, { keys, arguments: args })
            .catch((error: unknown) => log.debug({ err: error }, 'unread cache: fill failed'));
        }
        return counts;
      };
    },

    /** The persistence consumer's afterStore hook: every member whose count rose loses its cached count. */
    async afterStore(result: StoreResult): Promise<void> {
      const unique = new Map<string, RoomMember>();
      for (const member of result.bumped) unique.set(`${member.roomId}:${member.userId}`, { roomId: member.roomId, userId: member.userId });
      await invalidate([...unique.values()]);
    },

    invalidate,

    /** Read the generation before a transaction that will recompute a count (read receipts). */
    async beginWrite(member: RoomMember): Promise<WriteTicket> {
      if (!usable()) return { member, generation: null };
      try {
        return { member, generation: (await redis.get(keysOf(member)[1]!)) ?? '' };
      } catch {
        return { member, generation: null };
      }
    },

    /** After the commit: store the recomputed count if no other writer came in between, else drop it. */
    async commitWrite(ticket: WriteTicket, count: number): Promise<'stored' | 'dropped'> {
      if (ticket.generation === null) {
        await invalidate([ticket.member]);
        return 'dropped';
      }
      try {
        if (!redis.isReady) throw new Error('redis not ready');
        const stored = await redis.eval(WRITE, {
          keys: keysOf(ticket.member),
          arguments: [ticket.generation, String(count), ttl, String(GENERATION_TTL_SECONDS)],
        });
        return stored === 1 ? 'stored' : 'dropped';
      } catch (error) {
        keepForRetry([ticket.member], error);
        return 'dropped';
      }
    },

    pendingInvalidations: () => pending.size,

    /** One last attempt at what is pending; Redis is still open when this runs. */
    async close(): Promise<void> {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await flushPending();
    },
  };
}

export type UnreadCache = ReturnType<typeof createUnreadCache>;
