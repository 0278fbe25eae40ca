import { createServer } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import { startAppProcess, type AppProcess } from '../helpers/app-process.js';
import { startPrivateStack, type PrivateStack } from '../helpers/fault-stack.js';
import { testKafkaAt } from '../helpers/kafka.js';
import { expectPipelineResumed, expectTopicsBack, openChatProbe, sendUntilAccepted } from '../helpers/kafka-recovery.js';
import type { TestStompClient } from '../helpers/stomp.js';
import { startTestApp, testEnv, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';

/**
 * Deployment against services of its own (a private PostgreSQL, Redis and Kafka on ports of their
 * own, so it runs beside the outage tests' stack):
 * - issue 16 item 4: a real process started with exactly the Spring version's variables, which
 *   point at databases, topics and keys with their default, unprefixed names;
 * - issue 15 item 12: the Kafka broker replaced by an empty one under a running instance.
 */

const PORTS = {
  postgres: Number(process.env.DEPLOYMENT_PG_PORT ?? 15452),
  redis: Number(process.env.DEPLOYMENT_REDIS_PORT ?? 16399),
  kafka: Number(process.env.DEPLOYMENT_KAFKA_PORT ?? 19112),
};

let stack: PrivateStack;

beforeAll(async () => {
  stack = await startPrivateStack({ ports: PORTS, name: 'faults-deployment' });
});
afterAll(async () => {
  await stack?.stop();
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe("the Spring version's deployment variables", () => {
  let app: AppProcess | undefined;
  afterAll(async () => {
    await app?.stop();
  });

  it('should start and be healthy with only DB_HOST, DB_PORT, REDIS_HOST, REDIS_PORT, KAFKA_BOOTSTRAP_SERVERS and JWT_SECRET set', async () => {
    // The account the Spring version's Compose file creates (POSTGRES_USER chat, POSTGRES_PASSWORD
    // chat1234) and its application.yml used; the app is given no credentials, as there.
    const server = postgres(stack.urls.database('postgres'), { max: 1, onnotice: () => {} });
    try {
      await server.unsafe(`create role chat login superuser password 'chat1234'`);
    } finally {
      await server.end({ timeout: 5 });
    }
    const env: Record<string, string> = {
      DB_HOST: '127.0.0.1',
      DB_PORT: String(PORTS.postgres),
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(PORTS.redis),
      KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${PORTS.kafka}`,
      JWT_SECRET: TEST_JWT_SECRET,
    };
    // The port is the default one too (8080) unless another program on this shared machine has it.
    const defaultPortFree = await portFree(8080);
    if (!defaultPortFree) console.warn('deployment: port 8080 is taken on this machine; the process gets PORT=0 as a seventh variable');
    app = await startAppProcess({ env: defaultPortFree ? env : { ...env, PORT: '0' }, name: 'spring-env', startTimeoutMs: 90_000 });
    if (defaultPortFree) expect(app.port).toBe(8080);

    const health = await fetch(`${app.baseUrl}/actuator/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'UP',
      components: { db: { status: 'UP' }, redis: { status: 'UP' }, kafka: { status: 'UP' } },
    });

    // It really works against the database `chat` and the default topic names.
    const signedUp = await fetch(`${app.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'spring@example.com', password: 'correct horse battery', nickname: 'spring' }),
    });
    expect(signedUp.status).toBe(201);
    const sql = postgres(stack.urls.database('chat'), { max: 1, onnotice: () => {} });
    try {
      expect(await sql`select email from users`).toEqual([{ email: 'spring@example.com' }]);
      expect(
        await sql`select current_user as "user", pg_catalog.pg_get_userbyid(datdba) as owner from pg_database where datname = 'chat'`,
      ).toEqual([{ user: 'postgres', owner: 'chat' }]);
    } finally {
      await sql.end({ timeout: 5 });
    }
    const admin = testKafkaAt(stack.urls.kafka).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toEqual(expect.arrayContaining(topicSpecs(topicNames('')).map((spec) => spec.topic)));
    } finally {
      await admin.disconnect();
    }
    // A fresh broker may make librdkafka warn while its coordinators load; nothing may fail.
    expect(app.logs.filter((line) => (line.level ?? 0) >= 50).map((line) => line.text)).toEqual([]);
  });

  it('should say once at start-up that a URL wins over the Spring variables that disagree with it', async () => {
    const isolation = testEnv();
    const conflicting = await startAppProcess({
      env: {
        ...isolation.env,
        DATABASE_URL: stack.urls.database(`chat_conflict_${isolation.suffix}`),
        REDIS_URL: stack.urls.redis,
        KAFKA_BROKERS: stack.urls.kafka,
        DB_HOST: 'db.example.invalid',
        KAFKA_BOOTSTRAP_SERVERS: 'kafka.example.invalid:9092',
      },
      name: 'conflict',
      startTimeoutMs: 90_000,
    });
    try {
      const warnings = conflicting.logs
        .filter((line) => line.level === 40 && /is used; .* ignored/.test(line.msg ?? ''))
        .map((line) => line.msg);
      expect(warnings).toEqual([
        'DATABASE_URL is used; DB_HOST describe another server or account and are ignored',
        'KAFKA_BROKERS is used; KAFKA_BOOTSTRAP_SERVERS names other brokers and is ignored',
      ]);
      expect((await fetch(`${conflicting.baseUrl}/actuator/health`)).status).toBe(200);
    } finally {
      await conflicting.stop();
    }
  });
});

describe('a Kafka broker replaced by an empty one', () => {
  let t: TestApp;
  const clients: TestStompClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await t?.close();
  });

  it('should create the topics again and resume producing and all three consumer groups by itself', async () => {
    const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100', KAFKA_TOPIC_CHECK_INTERVAL_MS: '1000' });
    t = await startTestApp(isolation, {
      env: {
        DATABASE_URL: stack.urls.database(`chat_replaced_${isolation.suffix}`),
        REDIS_URL: stack.urls.redis,
        KAFKA_BROKERS: stack.urls.kafka,
      },
    });
    const probe = await openChatProbe(t, clients);

    const replacedAt = Date.now();
    await stack.replaceKafka();
    const brokerBackMs = Date.now() - replacedAt;
    const { content, attempts } = await sendUntilAccepted(probe, 120_000);
    const acceptedMs = Date.now() - replacedAt;
    await expectPipelineResumed(probe, content);
    console.log(
      `kafka replaced: new broker serving ${brokerBackMs} ms after the kill; first SEND accepted ${acceptedMs} ms (attempt ${attempts}); ` +
        `stored, delivered and read ${Date.now() - replacedAt} ms after the kill`,
    );
    const admin = testKafkaAt(stack.urls.kafka).admin();
    await admin.connect();
    try {
      await expectTopicsBack(admin, t.app.deps.topics);
    } finally {
      await admin.disconnect();
    }
  }, 300_000);
});
