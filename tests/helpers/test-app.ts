import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOverrides } from '../../src/app.js';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { topicSpecs } from '../../src/kafka/topics.js';
import { dropDatabase, isolatedDatabaseUrl, serviceUrls, uniqueSuffix } from './services.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';

export interface TestEnv {
  /** Environment for an instance: its own database, Redis key prefix and Kafka topics/groups. */
  env: Record<string, string>;
  databaseUrl: string;
  suffix: string;
}

/** Isolation for one test file (or one cluster of instances that must share data). */
export function testEnv(extra: Record<string, string> = {}): TestEnv {
  const suffix = uniqueSuffix();
  const databaseUrl = isolatedDatabaseUrl(`chat_test_${suffix}`);
  return {
    suffix,
    databaseUrl,
    env: {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      REDIS_URL: serviceUrls.redis,
      KAFKA_BROKERS: serviceUrls.kafka,
      JWT_SECRET: TEST_JWT_SECRET,
      KAFKA_TOPIC_PREFIX: `t_${suffix}.`,
      KAFKA_GROUP_PREFIX: `t_${suffix}.`,
      REDIS_KEY_PREFIX: `t_${suffix}:`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      CONSUMER_RETRY_BACKOFF_MS: '200',
      ...extra,
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  config: AppConfig;
  /** http://127.0.0.1:port, once listening. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startTestApp(
  isolation: TestEnv = testEnv(),
  options: { env?: Record<string, string>; overrides?: AppOverrides; listen?: boolean } = {},
): Promise<TestApp> {
  const config = loadConfig({ ...isolation.env, ...options.env });
  const app = await buildApp(config, options.overrides);
  let baseUrl = '';
  if (options.listen ?? true) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address && typeof address === 'object') baseUrl = `http://127.0.0.1:${address.port}`;
  } else {
    await app.ready();
  }
  return { app, config, baseUrl, close: () => app.close() };
}

/** Removes what a test isolation created on the shared servers: its database and its topics. */
export async function cleanupTestEnv(isolation: TestEnv, app?: FastifyInstance): Promise<void> {
  if (app) {
    const { kafka, topics } = app.deps;
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.deleteTopics({ topics: topicSpecs(topics).map((spec) => spec.topic), timeout: 5_000 });
    } catch {
      // Leftover test topics are harmless: every run uses fresh names.
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
  await dropDatabase(isolation.databaseUrl).catch(() => {});
}
