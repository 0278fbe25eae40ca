import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/redis-client.js';

/**
 * The Redis side of delivery on one instance: it is subscribed to a room's channel (`chat:room:{id}`
 * for messages, `chat:room:{id}:events` for events) exactly while it has at least one local
 * subscriber of that room's destination, so an instance receives only the traffic it serves.
 * node-redis re-subscribes every channel by itself after a reconnect.
 */
export interface RoomFanIn {
  join(roomId: number): Promise<void>;
  leave(roomId: number): Promise<void>;
  channels(): number[];
  close(): Promise<void>;
}

export function createRoomFanIn(deps: {
  subscriber: RedisClient;
  /** The Redis channel of a room. */
  channel: (roomId: number) => string;
  log: Logger;
  onMessage: (roomId: number, payload: Buffer) => void;
}): RoomFanIn {
  const rooms = new Set<number>();
  // Serialises subscribe/unsubscribe per room, so a quick leave-then-join cannot end unsubscribed.
  const pending = new Map<number, Promise<void>>();

  const listenerFor = (roomId: number) => (payload: Buffer) => {
    try {
      deps.onMessage(roomId, payload);
    } catch (error) {
      deps.log.error({ err: error, roomId }, 'room delivery failed');
    }
  };

  const queue = (roomId: number, work: () => Promise<void>) => {
    const previous = pending.get(roomId) ?? Promise.resolve();
    const next = previous.then(work, work).catch((error: unknown) => {
      deps.log.warn({ err: error, roomId }, 'redis room subscription change failed');
    });
    pending.set(roomId, next);
    void next.finally(() => {
      if (pending.get(roomId) === next) pending.delete(roomId);
    });
    return next;
  };

  return {
    join(roomId) {
      if (rooms.has(roomId)) return pending.get(roomId) ?? Promise.resolve();
      rooms.add(roomId);
      return queue(roomId, async () => {
        if (rooms.has(roomId)) await deps.subscriber.subscribe(deps.channel(roomId), listenerFor(roomId), true);
      });
    },
    leave(roomId) {
      if (!rooms.delete(roomId)) return Promise.resolve();
      return queue(roomId, async () => {
        if (!rooms.has(roomId)) await deps.subscriber.unsubscribe(deps.channel(roomId));
      });
    },
    channels: () => [...rooms],
    async close() {
      rooms.clear();
      await Promise.allSettled(pending.values());
    },
  };
}
