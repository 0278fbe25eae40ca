import { createServer } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import { startAppProcess, type AppProcess } from '../helpers/app-process.js';
import { startPrivateStack, type PrivateStack } from '../helpers/fault-stack.js';
import { signup } from '../helpers/http.js';
import { testKafkaAt } from '../helpers/kafka.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { startTestApp, testEnv, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Deployment against services of its own (a private PostgreSQL, Redis and Kafka on ports of their
 * own, so it runs beside the outage tests' stack):
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
      env: { DATABASE_URL: stack.urls.database(`chat_replaced_${isolation.suffix}`), REDIS_URL: stack.urls.redis, KAFKA_BROKERS: stack.urls.kafka },
    });
    const [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
    const roomId = (await t.app.inject({ method: 'POST', url: '/api/rooms/direct', headers: { authorization: `Bearer ${alice.token}` }, payload: { targetUserId: bob.userId } })).json().roomId;
    const sql = t.app.deps.database.sql;
    const stored = async (content: string) => (await sql<{ id: number }[]>`select id from messages where room_id = ${roomId} and content = ${content}`)[0]?.id;
    const a = await connectStomp(t.baseUrl, alice.token, { reconnectDelay: 200 });
    const b = await connectStomp(t.baseUrl, bob.token);
    clients.push(a, b);
    await a.subscribe('/user/queue/errors');
    await b.subscribe(`/topic/room.${roomId}`);
    await b.subscribe(`/topic/room.${roomId}.events`);
    await a.sendWithReceipt('/app/chat.send', { roomId, content: 'before' });
    await waitFor(() => stored('before'), { timeoutMs: 15_000, what: 'the first message stored' });

    const replacedAt = Date.now();
    await stack.replaceKafka();
    const brokerBackMs = Date.now() - replacedAt;

    let attempt = 0;
    let accepted: string | undefined;
    await waitFor(
      async () => {
        attempt += 1;
        const content = `after ${attempt}`;
        try {
          await a.sendWithReceipt('/app/chat.send', { roomId, content });
          accepted = content;
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'a SEND accepted by the new broker' },
    );
    const acceptedMs = Date.now() - replacedAt;
    const id = await waitFor(() => stored(accepted!), { timeoutMs: 60_000, what: 'the message stored' });
    await waitFor(() => b.bodies<{ content: string }>(`/topic/room.${roomId}`).some((message) => message.content === accepted), {
      timeoutMs: 60_000,
      what: 'the message delivered live',
    });
    await b.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageId: id });
    await waitFor(() => b.bodies<{ lastReadMessageId: number }>(`/topic/room.${roomId}.events`).some((event) => event.lastReadMessageId === id), {
      timeoutMs: 60_000,
      what: 'the READ event',
    });
    console.log(
      `kafka replaced: new broker serving ${brokerBackMs} ms after the kill; first SEND accepted ${acceptedMs} ms (attempt ${attempt}); ` +
        `stored, delivered and read ${Date.now() - replacedAt} ms after the kill`,
    );
    const admin = testKafkaAt(stack.urls.kafka).admin();
    await admin.connect();
    try {
      const names = topicSpecs(t.app.deps.topics).map((spec) => spec.topic);
      const metadata = await waitFor(() => admin.fetchTopicMetadata({ topics: names }), { timeoutMs: 15_000, what: 'the topics metadata' });
      expect(Object.fromEntries(metadata.map((topic) => [topic.name, topic.partitions.length]))).toEqual(
        Object.fromEntries(topicSpecs(t.app.deps.topics).map((spec) => [spec.topic, spec.numPartitions])),
      );
    } finally {
      await admin.disconnect();
    }
  }, 300_000);
});
