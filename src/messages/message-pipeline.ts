import type { AppDeps } from '../app.js';
import type { ConsumedRecord } from '../kafka/consumer-runner.js';
import { createRenewableRunner, type RenewableRunner } from '../kafka/renewable-runner.js';
import type { RedisClient } from '../redis/redis-client.js';
import { createRedis } from '../redis/redis-client.js';
import { createPublishGate } from '../redis/publish-gate.js';
import { roomEventsChannel } from '../redis/room-events.js';
import { createRoomFanIn, type RoomFanIn } from '../realtime/room-fanin.js';
import { createBroadcastHandler, roomChannel } from './broadcast-consumer.js';
import { createSharedChatMessageDecoder } from './chat-message.js';
import type { StoreResult } from './message-store.js';
import { createPersistenceHandler } from './persistence-consumer.js';

export interface PipelineHooks {
  afterStore?(result: StoreResult): Promise<void>;
  onDeadLetter?(group: string, record: ConsumedRecord, error: Error): void;
  onBatchDone?(group: string, records: ConsumedRecord[]): void;
}

/**
 * The back half of the message path on one instance (SPEC §1): the two consumer groups on
 * chat.messages, and the Redis subscriber that brings room messages (and room events) back to
 * local sockets.
 */
export function createMessagePipeline(
  deps: AppDeps,
  options: {
    deliver: (roomId: number, payload: Buffer) => void;
    deliverEvent: (roomId: number, payload: Buffer) => void;
    hooks?: PipelineHooks;
  },
) {
  const { config, log } = deps;
  const group = (name: string) => `${config.KAFKA_GROUP_PREFIX}${name}`;
  const common = {
    kafka: deps.kafka,
    producer: deps.producer,
    topic: deps.topics.messages,
    dltTopic: deps.topics.messagesDlt,
    log,
    retryAttempts: config.CONSUMER_RETRY_ATTEMPTS,
    retryBackoffMs: config.CONSUMER_RETRY_BACKOFF_MS,
  };
  const hookFor = (groupId: string) => ({
    onDeadLetter: (record: ConsumedRecord, error: Error) => options.hooks?.onDeadLetter?.(groupId, record, error),
    onBatchDone: (records: ConsumedRecord[]) => options.hooks?.onBatchDone?.(groupId, records),
  });

  // After Redis comes back, publishing waits until every instance's subscriber can be back too.
  const publishGate = createPublishGate(deps.redis);
  const decode = createSharedChatMessageDecoder();
  const broadcast = createBroadcastHandler({ redis: deps.redis, keyPrefix: config.REDIS_KEY_PREFIX, decode });

  const persistenceGroup = group('chat-persistence');
  const broadcastGroup = group('chat-broadcast');
  const runners: RenewableRunner[] = [
    createRenewableRunner({
      ...common,
      ...hookFor(persistenceGroup),
      groupId: persistenceGroup,
      handler: createPersistenceHandler({ sql: deps.database.sql, log, afterCommit: options.hooks?.afterStore, decode }),
      concurrency: 2,
      maxBatchSize: 500,
    }),
    createRenewableRunner({
      ...common,
      ...hookFor(broadcastGroup),
      groupId: broadcastGroup,
      handler: {
        ...broadcast,
        async handleBatch(records, context) {
          await publishGate.wait();
          await broadcast.handleBatch(records, context);
        },
      },
      concurrency: 2,
    }),
  ];

  const subscriber: RedisClient = createRedis(config.REDIS_URL, log, `chat-${config.INSTANCE_ID}-sub`, { queueWhileOffline: true });
  const prefix = config.REDIS_KEY_PREFIX;
  const fanIn: RoomFanIn = createRoomFanIn({
    subscriber,
    channel: (roomId) => roomChannel(prefix, roomId),
    log,
    onMessage: options.deliver,
  });
  // One connection for both, so Redis hands this instance a room's messages and events in publish order.
  const eventsFanIn: RoomFanIn = createRoomFanIn({
    subscriber,
    channel: (roomId) => roomEventsChannel(prefix, roomId),
    log,
    onMessage: options.deliverEvent,
  });

  return {
    fanIn,
    eventsFanIn,
    runners,
    subscriber,
    async start() {
      await subscriber.connect();
      await Promise.all(runners.map((runner) => runner.start()));
    },
    /** Consumers finish the batch in hand, commit and leave their groups; then Redis closes. */
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
      publishGate.close();
      await Promise.all([fanIn.close(), eventsFanIn.close()]);
      if (subscriber.isOpen) await subscriber.close().catch(() => {});
    },
  };
}

export type MessagePipeline = ReturnType<typeof createMessagePipeline>;
