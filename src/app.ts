import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import fastifyJwt from '@fastify/jwt';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { authRoutes } from './auth/auth-routes.js';
import { createAuthService } from './auth/auth-service.js';
import { createAuthenticate } from './auth/authenticate.js';
import { createTokenService } from './auth/tokens.js';
import { durationToSeconds, type AppConfig } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/client.js';
import { ensureDatabaseExists, migrateDatabase } from './db/migrate.js';
import { createHealthChecks } from './health/health-checks.js';
import { healthRoutes } from './health/health-routes.js';
import { registerErrorHandling } from './http/error-handler.js';
import { createKafka, withTimeout, type Admin, type Kafka, type Producer } from './kafka/kafka-client.js';
import { createProducer } from './kafka/producer.js';
import { ensureTopics, topicNames, type Topics } from './kafka/topics.js';
import { createLogger, loggerOptions, type Logger } from './logger.js';
import { createRedis, type RedisClient } from './redis/redis-client.js';
import { createUsersRepository } from './users/users-repository.js';
import { usersRoutes } from './users/users-routes.js';

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
  }
}

const STARTUP_TIMEOUT_MS = 20_000;

export async function buildApp(config: AppConfig, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const waitForDependencies = overrides.waitForDependencies ?? true;
  const app = Fastify({
    logger: loggerOptions(config.LOG_LEVEL, config.INSTANCE_ID),
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    },
    // Chat bodies are small; anything bigger is a mistake or an attack.
    bodyLimit: 256 * 1024,
    trustProxy: true,
    forceCloseConnections: 'idle',
  });
  const log = app.log as Logger;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const deps = await createDeps(config, log, overrides, waitForDependencies);
  app.decorate('deps', deps);
  app.addHook('onClose', async () => closeDeps(deps));

  await app.register(cors, { origin: config.CORS_ORIGINS.length ? config.CORS_ORIGINS : true });
  await app.register(rateLimit, { global: false });
  await app.register(fastifyJwt, {
    secret: config.JWT_SECRET,
    sign: { algorithm: 'HS256', expiresIn: durationToSeconds(config.JWT_EXPIRES_IN) },
    // Pinning the algorithm is what refuses `alg: none` and algorithm-confusion tokens.
    verify: { algorithms: ['HS256'] },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Chat backend', version: '0.1.0', description: 'REST API of the real-time chat service. Live messaging is STOMP 1.2 over WebSocket at /ws.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  const tokens = createTokenService(app);
  const authenticate = createAuthenticate(tokens);
  const users = createUsersRepository(deps.database.db);
  const auth = createAuthService({ users, tokens });

  let acceptingTraffic = true;
  app.addHook('preClose', async () => {
    acceptingTraffic = false;
  });

  await app.register(healthRoutes, {
    checks: createHealthChecks({ sql: deps.database.sql, redis: deps.redis, kafkaAdmin: deps.kafkaAdmin }),
    isAcceptingTraffic: () => acceptingTraffic,
  });
  await app.register(authRoutes, { auth, perMinute: config.AUTH_RATE_LIMIT_PER_MINUTE });
  await app.register(usersRoutes, { users, authenticate });

  return app;
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
  const producer = createProducer(kafka);
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  await kafkaAdmin.connect();
  await attempt('kafka topics', async () => {
    const created = await ensureTopics(kafkaAdmin, topics);
    if (created.length) log.info({ topics: created }, 'created kafka topics');
  });
  await attempt('kafka producer connect', () => producer.connect());

  return { config, log, database, redis, kafka, kafkaAdmin, producer, topics };
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
