import type { Logger } from '../logger.js';
import { createRedis, type RedisClient } from '../redis/redis-client.js';
import type { PresenceRepository } from './presence-repository.js';
import { createPresenceStore, type PresenceConnection } from './presence-store.js';

export type PresenceStatus = 'ONLINE' | 'OFFLINE';

/**
 * The body of a `chat:presence` message and of a MESSAGE on `/topic/presence`: the Spring
 * version's `PresenceEvent`, whose `timestamp` is epoch milliseconds (`System.currentTimeMillis()`),
 * so client code doing `Date.now() - event.timestamp` keeps working.
 */
export interface PresenceEvent {
  userId: number;
  status: PresenceStatus;
  timestamp: number;
}

export const presenceChannel = (prefix: string) => `${prefix}chat:presence`;

export interface PresenceOptions {
  redis: RedisClient;
  redisUrl: string;
  keyPrefix: string;
  instanceId: string;
  ttlMs: number;
  refreshMs: number;
  sweepMs: number;
  repository: PresenceRepository;
  log: Logger;
  /** Hands a `chat:presence` message to local `/topic/presence` subscribers. */
  deliver(body: Buffer): void;
}

/**
 * Presence on one instance. It knows its own live connections (from the STOMP hooks) and keeps
 * them alive in Redis every `refreshMs`; the heart-beat monitor already closes a silent client,
 * so "connected here" is the liveness a refresh stands for. Transitions (first connection
 * anywhere, last connection anywhere gone) are decided atomically in Redis by presence-store,
 * then written to users.status/last_seen_at and published on `chat:presence`, which every
 * instance relays to its `/topic/presence` subscribers.
 *
 * An instance that dies without closing its sockets stops refreshing; its connections lapse after
 * the TTL, and the sweep that every instance runs every `sweepMs` turns users with no live
 * connection left OFFLINE, once.
 */
export function createPresence(options: PresenceOptions) {
  const { log, redis } = options;
  const store = createPresenceStore({ redis, keyPrefix: options.keyPrefix, ttlMs: options.ttlMs });
  const channel = presenceChannel(options.keyPrefix);
  const local = new Map<string, PresenceConnection>();
  const inFlight = new Set<Promise<void>>();
  let subscriber: RedisClient | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let refreshing = false;
  let sweeping = false;
  let stopped = false;

  function track(work: Promise<void>): void {
    const settled = work.catch((error: unknown) => log.warn({ err: error }, 'presence update failed'));
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  }

  /** The database first, so a client reacting to the event reads the same status. */
  async function announce(userIds: number[], status: PresenceStatus, at: number): Promise<void> {
    const when = new Date(at);
    await Promise.all(
      userIds.map(async (userId) => {
        await options.repository
          .setStatus(userId, status, when)
          .catch((error: unknown) => log.warn({ err: error, userId, status }, 'presence: users.status not updated'));
        const event: PresenceEvent = { userId, status, timestamp: at };
        await redis.publish(channel, JSON.stringify(event));
      }),
    );
    if (userIds.length) log.debug({ userIds, status }, 'presence changed');
  }

  async function refresh(): Promise<void> {
    if (refreshing || local.size === 0 || !redis.isReady) return;
    refreshing = true;
    try {
      // A user counted offline while Redis was away (or flushed) comes back ONLINE here.
      const changes = await store.touch([...local.values()]);
      await announce(changes.userIds, 'ONLINE', changes.at);
    } finally {
      refreshing = false;
    }
  }

  async function sweep(): Promise<void> {
    if (sweeping || !redis.isReady) return;
    sweeping = true;
    try {
      for (;;) {
        const changes = await store.sweep();
        if (changes.userIds.length === 0) break;
        log.info({ userIds: changes.userIds }, 'presence: connections lapsed without a close; users offline');
        await announce(changes.userIds, 'OFFLINE', changes.at);
      }
    } finally {
      sweeping = false;
    }
  }

  return {
    store,

    /** STOMP hook: a session completed CONNECT. */
    connected(session: { id: string; user?: { userId: number } }): void {
      if (!session.user || stopped) return;
      const connection = { userId: session.user.userId, connectionId: `${options.instanceId}:${session.id}` };
      local.set(session.id, connection);
      track(
        (async () => {
          const changes = await store.touch([connection]);
          await announce(changes.userIds, 'ONLINE', changes.at);
        })(),
      );
    },

    /** STOMP hook: a session ended, however it ended. */
    closed(session: { id: string }): void {
      const connection = local.get(session.id);
      if (!connection) return;
      local.delete(session.id);
      track(
        (async () => {
          const { at, wentOffline } = await store.leave(connection);
          if (wentOffline) await announce([connection.userId], 'OFFLINE', at);
        })(),
      );
    },

    onlineAmong: (userIds: number[]) => store.onlineAmong(userIds),

    localConnections: () => local.size,

    async start(): Promise<void> {
      stopped = false;
      refreshTimer = setInterval(() => track(refresh()), options.refreshMs);
      sweepTimer = setInterval(() => track(sweep()), options.sweepMs);
      refreshTimer.unref();
      sweepTimer.unref();
      subscriber = createRedis(options.redisUrl, log, `chat-${options.instanceId}-presence`, { queueWhileOffline: true });
      await subscriber.connect();
      await subscriber.subscribe(
        channel,
        (payload: Buffer) => {
          try {
            options.deliver(payload);
          } catch (error) {
            log.error({ err: error }, 'presence delivery failed');
          }
        },
        true,
      );
    },

    /** Timers stop; what the last sessions' closes started finishes before Redis and the pool close. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(refreshTimer);
      clearInterval(sweepTimer);
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      if (subscriber?.isOpen) await subscriber.close().catch(() => {});
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
