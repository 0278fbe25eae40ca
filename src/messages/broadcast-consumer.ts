import type { ConsumedRecord, RecordHandler } from '../kafka/consumer-runner.js';
import type { RedisClient } from '../redis/redis-client.js';
import { decodeChatMessage, encodeChatMessage, type ChatMessage } from './chat-message.js';

export const roomChannel = (prefix: string, roomId: number | string) => `${prefix}chat:room:${roomId}`;

/** Redis errors that mean "Redis is away", as opposed to a bad command. */
export function isTransientRedisError(error: unknown): boolean {
  const name = (error as Error | null)?.name ?? '';
  const message = (error as Error | null)?.message ?? '';
  return (
    /ClientClosed|ClientOffline|ConnectionTimeout|SocketClosed|Reconnect/i.test(name) ||
    /closed|offline|ECONNREFUSED|ECONNRESET|socket|connection/i.test(message)
  );
}

/** PUBLISHes ARGV as channel, payload pairs, in order. */
const PUBLISH_ALL = `for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end return #ARGV / 2`;

/**
 * Group `chat-broadcast`: each record is published on `chat:room:{roomId}`, so every instance
 * with a subscriber of that room delivers it. A batch goes to Redis as one script that publishes
 * its records in Kafka order: one command and one reply per batch instead of one per record
 * (each command costs the client a promise, a timeout timer and a socket write). A failed batch is
 * retried by the runner: a subscriber may then see a message twice, and dedupes by messageKey
 * (at-least-once, never lost).
 */
export function createBroadcastHandler(deps: {
  redis: RedisClient;
  keyPrefix: string;
  decode?: (record: ConsumedRecord) => ChatMessage;
}): RecordHandler {
  const decode = deps.decode ?? ((record: ConsumedRecord) => decodeChatMessage(record.value));
  return {
    async handleBatch(records: ConsumedRecord[]) {
      const args: string[] = [];
      for (const record of records) {
        const message = decode(record);
        args.push(roomChannel(deps.keyPrefix, message.roomId), encodeChatMessage(message));
      }
      await deps.redis.eval(PUBLISH_ALL, { arguments: args });
    },
    isTransient: isTransientRedisError,
  };
}
