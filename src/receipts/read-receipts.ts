import type { AppDeps } from '../app.js';
import type { ConsumedRecord } from '../kafka/consumer-runner.js';
import { createRenewableRunner } from '../kafka/renewable-runner.js';
import { createMessageArrivals } from '../messages/message-arrivals.js';
import { parseJsonBody } from '../messages/message-publisher.js';
import { findByRoomAndKey } from '../messages/message-store.js';
import type { UnreadCache } from '../unread/unread-cache.js';
import { createReceiptsHandler } from './receipts-consumer.js';
import { createReceiptsRepository } from './receipts-repository.js';
import { createReceiptsService, type ReceiptRateLimiter } from './receipts-service.js';
import { stompReadBodySchema, type ReadReceiptRecord } from './receipt-schemas.js';

export interface ReadReceiptsHooks {
  onApplied?(record: ReadReceiptRecord, outcome: { changed: boolean; unreadCount: number }): void;
  onDeadLetter?(record: ConsumedRecord, error: Error): void;
}

/**
 * Read receipts on one instance: the service REST and STOMP share, and the `chat-read-receipts`
 * consumer group on chat.read-receipts, started and stopped with the message pipeline.
 */
export function createReadReceipts(
  deps: AppDeps,
  options: { unread: UnreadCache; limiter: ReceiptRateLimiter; hooks?: ReadReceiptsHooks },
) {
  const { config, log } = deps;
  const repository = createReceiptsRepository(deps.database.sql);
  const arrivals = createMessageArrivals({
    find: (refs) => findByRoomAndKey(deps.database.sql, refs),
    timeoutMs: config.PENDING_MESSAGE_WAIT_MS,
    log,
  });
  const service = createReceiptsService({
    repository,
    producer: deps.producer,
    topic: deps.topics.readReceipts,
    log,
    limiter: options.limiter,
  });
  const runner = createRenewableRunner({
    kafka: deps.kafka,
    producer: deps.producer,
    groupId: `${config.KAFKA_GROUP_PREFIX}chat-read-receipts`,
    topic: deps.topics.readReceipts,
    dltTopic: deps.topics.readReceiptsDlt,
    handler: createReceiptsHandler({
      repository,
      unread: options.unread,
      redis: deps.redis,
      keyPrefix: config.REDIS_KEY_PREFIX,
      log,
      arrivals,
      onApplied: options.hooks?.onApplied,
    }),
    log,
    retryAttempts: config.CONSUMER_RETRY_ATTEMPTS,
    retryBackoffMs: config.CONSUMER_RETRY_BACKOFF_MS,
    concurrency: 3,
    onDeadLetter: options.hooks?.onDeadLetter,
  });

  return {
    service,
    runner,
    /** `/app/chat.read`: body `{roomId, lastReadMessageId | lastReadMessageKey}`; RECEIPT once Kafka has it. */
    async handleStompRead(user: { userId: number }, body: Buffer): Promise<{ durable: Promise<void> }> {
      const { roomId, ...target } = parseJsonBody(stompReadBodySchema, body);
      const { durable } = await service.submit(user.userId, roomId, target);
      return { durable };
    },
    start: () => runner.start(),
    stop: () => runner.stop(),
  };
}

export type ReadReceipts = ReturnType<typeof createReadReceipts>;
