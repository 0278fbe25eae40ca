import type { ConsumedRecord, RecordHandler } from '../kafka/consumer-runner.js';
import type { RedisClient } from '../redis/redis-client.js';
import { decodeChatMessage, encodeChatMessage } from './chat-message.js';

export const roomChannel = (prefix: string, roomId: number | string) => `${prefix}chat:room:${roomId}`;

/** Redis errors that mean "Redis is away", as opposed to a bad command. */
export function isTransientRedisError(error: unknown): boolean {
  const name = (error as Error | null)?.name ?? '';
  const message = (error as Error | null)?.message ?? '';
  return /ClientClosed|ClientOffline|ConnectionTimeout|SocketClosed|Reconnect/i.test(name) ||
    /closed|offline|ECONNREFUSED|ECONNRESET|socket|connection/i.test(message);
}

/**
 * Group `chat-broadcast`: each record is published on `chat:room:{roomId}`, so every instance
 * with a subscriber of that room delivers it. Publishes of one batch are pipelined on one
 * connection, so they leave in Kafka order. A failed batch is retried by the runner: a subscriber
 * may then see a message twice, and dedupes by messageKey (at-least-once, never lost).
 */
export function createBroadcastHandler(deps: { redis: RedisClient; keyPrefix: string }): RecordHandler {
  return {
    async handleBatch(records: ConsumedRecord[]) {
      const messages = records.map((record) => decodeChatMessage(record.value));
      await Promise.all(messages.map((message) => deps.redis.publish(roomChannel(deps.keyPrefix, message.roomId), encodeChatMessage(message))));
    },
    isTransient: isTransientRedisError,
  };
}
