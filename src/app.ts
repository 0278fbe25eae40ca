import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { authRoutes } from './auth/auth-routes.js';
import { createAuthService } from './auth/auth-service.js';
import { createAuthenticate } from './auth/authenticate.js';
import { createTokenService } from './auth/tokens.js';
import type { AppConfig } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/client.js';
import { ensureDatabaseExists, migrateDatabase } from './db/migrate.js';
import { createHealthChecks } from './health/health-checks.js';
import { healthRoutes } from './health/health-routes.js';
import { actuatorRoutes } from './health/actuator-routes.js';
import { readPackageInfo } from './health/app-info.js';
import { createConsumerLagTracker } from './metrics/consumer-lag.js';
import { createMetrics, type AppMetrics } from './metrics/metrics.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerHttpPlugins } from './http/plugins.js';
import { createRateLimitStore } from './http/rate-limit-store.js';
import { createKafka, type Admin, type Kafka, type Producer } from './kafka/kafka-client.js';
import { withTimeout } from './with-timeout.js';
import { createProducer } from './kafka/producer.js';
import { ensureTopics, topicNames, type Topics } from './kafka/topics.js';
import { createTopicKeeper, isUnknownTopicError, type TopicKeeper } from './kafka/topic-keeper.js';
import { createLogger, loggerOptions, type Logger } from './logger.js';
import { createRedis, type RedisClient } from './redis/redis-client.js';
import { createUsersRepository } from './users/users-repository.js';
import { usersRoutes } from './users/users-routes.js';
import { createMessagePipeline, type MessagePipeline } from './messages/message-pipeline.js';
import { createMessagePublisher } from './messages/message-publisher.js';
import { createMessageKeyClaims } from './messages/message-key-claims.js';
import { createMembershipCache } from './realtime/membership-cache.js';
import { createSharedRateLimiter } from './rate-limit/shared-window-limiter.js';
import { createRealtime, type Realtime } from './realtime/realtime.js';
import { realtimeSettings } from './realtime/realtime-settings.js';
import { registerWebSocketEndpoint } from './realtime/websocket-endpoint.js';
import { createMessagesRepository } from './messages/messages-repository.js';
import { historyRoutes } from './messages/history-routes.js';
import { createRoomsRepository } from './rooms/rooms-repository.js';
import { roomsRoutes } from './rooms/rooms-routes.js';
import { createRoomsService } from './rooms/rooms-service.js';
import { createPresence, type Presence } from './presence/presence.js';
import { createPresenceRepository } from './presence/presence-repository.js';
import { presenceRoutes } from './presence/presence-routes.js';
import { createReadReceipts } from './receipts/read-receipts.js';
import { receiptsRoutes } from './receipts/receipts-routes.js';
import { createUnreadCache } from './unread/unread-cache.js';
import { PRESENCE_TOPIC } from './realtime/destinations.js';
import { webClient } from './web/web-client.js';

/** Everything an instance owns, created here and closed in onClose, in reverse order. */
export interface AppDeps {
  config: AppConfig;
  log: Logger;
  database: DatabaseHandle;
  redis: RedisClient;
  kafka: Kafka;
  kafkaAdmin: Admin;
  producer: Producer;
  topics: Topics;
  /** Creates the topics again if the broker loses them, and renews their consumers. */
  topicKeeper: TopicKeeper;
}

export interface AppOverrides {
  /**
   * Default true: start-up fails unless PostgreSQL, Redis and Kafka answer. False lets an instance
   * come up with a dependency down and report it DOWN on /actuator/health (tests use this).
   */
  waitForDependencies?: boolean;
  /** Called with every SQL statement; tests count queries with it. */
  onQuery?: (query: string) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    realtime: Realtime;
    pipeline: MessagePipeline;
    metrics: AppMetrics;
  }
}

const STARTUP_TIMEOUT_MS = 20_000;

export async function buildApp(config: AppConfig, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const waitForDependencies = overrides.waitForDependencies ?? true;
  const trustProxy = config.TRUST_PROXY;
  const app = Fastify({
    logger: loggerOptions(config.LOG_LEVEL, config.INSTANCE_ID),
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    },
    // Chat bodies are small; anything bigger is a mistake or an attack.
    bodyLimit: 256 * 1024,
    // X-Forwarded-For only from proxies we know (TRUST_PROXY); else a client picks its own address,
    // and with it a fresh rate-limit bucket per request. A hop count trusts the nearest hops whoever
    // they are (Fastify alone would ignore a number), so it suits an app that only its proxies reach.
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    forceCloseConnections: 'idle',
  });
  const log = app.log as Logger;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Every body this API takes is JSON; Fastify's built-in text/plain parser would hand a string to
  // the schema (a confusing 400) where the honest answer is 415.
  app.removeContentTypeParser('text/plain');
  registerErrorHandling(app);
  const startedAt = new Date();
  const metrics = createMetrics();
  app.decorate('metrics', metrics);
  metrics.registerHttp(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const deps = await createDeps(config, log, overrides, waitForDependencies);
  app.decorate('deps', deps);

  const sharedLimiter = (limit: { name: string; limit: number; windowMs: number }) =>
    createSharedRateLimiter({ ...limit, redis: deps.redis, keyPrefix: config.REDIS_KEY_PREFIX, log });
  await registerHttpPlugins(app, config, { rateLimitStore: createRateLimitStore(sharedLimiter) });

  const tokens = createTokenService(app);
  const users = createUsersRepository(deps.database.db);
  const authenticate = createAuthenticate(tokens, { userExists: async (userId) => (await users.findById(userId)) !== null });
  const auth = createAuthService({ users, tokens });

  const roomsRepository = createRoomsRepository(deps.database.sql);
  const membership = createMembershipCache({ lookup: roomsRepository.isMember });
  const publisher = createMessagePublisher({
    producer: deps.producer,
    topic: deps.topics.messages,
    limiter: sharedLimiter({ name: 'send', limit: config.RATE_LIMIT_MESSAGES_PER_SECOND, windowMs: 1000 }),
    membership,
    claims: createMessageKeyClaims({
      sql: deps.database.sql,
      redis: deps.redis,
      keyPrefix: config.REDIS_KEY_PREFIX,
      ttlSeconds: config.MESSAGE_KEY_CLAIM_TTL_SECONDS,
      log,
    }),
    log,
    onProduced: metrics.onProduced,
  });
  const unread = createUnreadCache({
    redis: deps.redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.UNREAD_CACHE_TTL_SECONDS,
    log,
  });
  const receipts = createReadReceipts(deps, {
    unread,
    limiter: sharedLimiter({ name: 'read', limit: config.READ_RECEIPT_RATE_LIMIT_PER_SECOND, windowMs: 1000 }),
    hooks: { onDeadLetter: (record) => metrics.pipeline.onDeadLetter(`${config.KAFKA_GROUP_PREFIX}chat-read-receipts`, record) },
  });
  const presenceRepository = createPresenceRepository(deps.database.sql);
  const presence: Presence = createPresence({
    redis: deps.redis,
    redisUrl: config.REDIS_URL,
    keyPrefix: config.REDIS_KEY_PREFIX,
    instanceId: config.INSTANCE_ID,
    ttlMs: config.PRESENCE_TTL_SECONDS * 1000,
    refreshMs: config.PRESENCE_REFRESH_INTERVAL_MS ?? Math.floor((config.PRESENCE_TTL_SECONDS * 1000) / 3),
    sweepMs: config.PRESENCE_SWEEP_INTERVAL_MS,
    repository: presenceRepository,
    log,
    deliver: (body) => realtime.registry.deliver(PRESENCE_TOPIC, body),
  });
  const realtime = createRealtime({
    instanceId: config.INSTANCE_ID,
    log,
    tokens,
    users,
    membership,
    publisher,
    readReceipts: receipts.handleStompRead,
    ...realtimeSettings(config),
    hooks: {
      ...metrics.realtime,
      onConnected: (session) => {
        metrics.realtime.onConnected();
        presence.connected(session);
      },
      onClosed: (session) => presence.closed(session),
    },
  });
  const pipeline = createMessagePipeline(deps, {
    deliver: realtime.deliverRoomMessage,
    deliverEvent: realtime.deliverRoomEvent,
    hooks: { ...metrics.pipeline, afterStore: unread.afterStore },
  });
  realtime.setFanIn(pipeline.fanIn, pipeline.eventsFanIn);
  for (const runner of [...pipeline.runners, receipts.runner]) deps.topicKeeper.keep(runner);
  const consumerViews = () => [
    ...pipeline.runners.map((runner) => ({ groupId: runner.groupId, topic: deps.topics.messages, assignment: runner.assignment })),
    { groupId: receipts.runner.groupId, topic: deps.topics.readReceipts, assignment: receipts.runner.assignment },
  ];
  const connections = () => ({
    open: realtime.sessions.size,
    connected: [...realtime.sessions].filter((session) => session.isConnected).length,
  });
  metrics.observe({
    sockets: { open: () => connections().open, connected: () => connections().connected },
    consumerLag: createConsumerLagTracker({ admin: deps.kafkaAdmin, consumers: consumerViews }),
  });
  app.decorate('realtime', realtime);
  app.decorate('pipeline', pipeline);

  let acceptingTraffic = true;
  await registerWebSocketEndpoint(app, realtime, {
    onShutdownStarted: () => {
      acceptingTraffic = false;
    },
  });
  // Consumers leave their groups before the producer, Redis and the pool they use are closed.
  app.addHook('onClose', async () => {
    await deps.topicKeeper.stop();
    await Promise.all([pipeline.stop(), receipts.stop()]);
    await presence.stop();
    await unread.close();
    await closeDeps(deps);
  });

  await app.register(healthRoutes, {
    checks: createHealthChecks({ sql: deps.database.sql, redis: deps.redis, kafkaAdmin: deps.kafkaAdmin }),
    isAcceptingTraffic: () => acceptingTraffic,
  });
  await app.register(actuatorRoutes, {
    metrics,
    authenticate,
    packageInfo: readPackageInfo(),
    instanceId: config.INSTANCE_ID,
    startedAt,
    connections,
    consumers: () =>
      consumerViews().map((view) => ({
        group: view.groupId,
        topic: view.topic,
        partitions: view
          .assignment()
          .map((tp) => tp.partition)
          .sort((a, b) => a - b),
      })),
  });
  await app.register(authRoutes, { auth, perMinute: config.AUTH_RATE_LIMIT_PER_MINUTE });
  await app.register(usersRoutes, { users, authenticate });
  // Unread counts are read through the Redis cache; PostgreSQL stays the source of truth.
  const rooms = createRoomsService({
    rooms: { ...roomsRepository, unreadCounts: unread.readThrough(roomsRepository.unreadCounts) },
    users,
    maxGroupMembers: config.MAX_GROUP_MEMBERS,
  });
  await app.register(roomsRoutes, { rooms, authenticate });
  await app.register(historyRoutes, {
    messages: createMessagesRepository(deps.database.sql),
    requireMember: rooms.requireMember,
    authenticate,
  });
  await app.register(webClient);

  await app.register(receiptsRoutes, { receipts: receipts.service, authenticate });
  await app.register(presenceRoutes, { repository: presenceRepository, onlineAmong: presence.onlineAmong, authenticate });

  await startPipeline(
    {
      start: async () => {
        await Promise.all([pipeline.start(), receipts.start(), presence.start()]);
        await deps.topicKeeper.start();
      },
    },
    log,
    waitForDependencies,
  );
  return app;
}

async function startPipeline(pipeline: { start(): Promise<void> }, log: Logger, wait: boolean): Promise<void> {
  const start = pipeline.start();
  if (wait) {
    await withTimeout(start, STARTUP_TIMEOUT_MS, 'message pipeline start');
  } else {
    start.catch((error: unknown) => log.warn({ err: error }, 'start-up: message pipeline failed to start'));
  }
}

async function createDeps(config: AppConfig, log: Logger, overrides: AppOverrides, wait: boolean): Promise<AppDeps> {
  /** With `wait`, a step must succeed in time or start-up fails; without, it runs in the background. */
  const attempt = async (what: string, step: () => Promise<unknown>) => {
    if (!wait) {
      step().catch((error: unknown) => log.warn({ err: error }, `start-up: ${what} failed; health reports it`));
      return;
    }
    try {
      await withTimeout(step(), STARTUP_TIMEOUT_MS, what);
    } catch (error) {
      throw new Error(`start-up failed: ${what}: ${(error as Error).message}`, { cause: error });
    }
  };

  if (config.MIGRATE_ON_START) {
    await attempt('database migration', async () => {
      if (await ensureDatabaseExists(config.DATABASE_URL)) log.info('created database');
      await migrateDatabase(config.DATABASE_URL);
    });
  }
  const database = createDatabase(config.DATABASE_URL, { onQuery: overrides.onQuery });

  const redis = createRedis(config.REDIS_URL, log, `chat-${config.INSTANCE_ID}`);
  await attempt('redis connect', () => redis.connect());

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `chat-${config.INSTANCE_ID}`, log });
  const kafkaAdmin = kafka.admin();
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const topicKeeper = createTopicKeeper({ admin: kafkaAdmin, topics, log, intervalMs: config.KAFKA_TOPIC_CHECK_INTERVAL_MS });
  const producer = createProducer(kafka, { onSendError: (error) => isUnknownTopicError(error) && topicKeeper.nudge() });
  await kafkaAdmin.connect();
  await attempt('kafka topics', async () => {
    const created = await ensureTopics(kafkaAdmin, topics);
    if (created.length) log.info({ topics: created }, 'created kafka topics');
  });
  await attempt('kafka producer connect', () => producer.connect());

  return { config, log, database, redis, kafka, kafkaAdmin, producer, topics, topicKeeper };
}

async function closeDeps(deps: AppDeps): Promise<void> {
  const step = async (what: string, close: () => Promise<unknown>) => {
    try {
      await withTimeout(close(), 10_000, what);
    } catch (error) {
      deps.log.warn({ err: error }, `close: ${what} failed`);
    }
  };
  await step('kafka producer', async () => {
    await deps.producer.flush({ timeout: 5_000 }).catch(() => {});
    await deps.producer.disconnect();
  });
  await step('kafka admin', () => deps.kafkaAdmin.disconnect());
  await step('redis', async () => {
    if (deps.redis.isOpen) await deps.redis.close();
  });
  await step('database', () => deps.database.close());
}

export { createLogger };
