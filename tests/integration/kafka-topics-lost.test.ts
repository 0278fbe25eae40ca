import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics, topicSpecs } from '../../src/kafka/topics.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { testKafka } from '../helpers/kafka.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 12: a Kafka that lost its topics (a developer wiped the local stack, a cluster
 * was re-created). Here this test's own prefixed topics are deleted on the shared broker under a
 * running instance; tests/faults/kafka-replaced.test.ts replaces a whole private broker.
 */

const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100', KAFKA_TOPIC_CHECK_INTERVAL_MS: '1000' });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];
const admin = testKafka().admin();

beforeAll(async () => {
  t = await startTestApp(isolation);
  await admin.connect();
  [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
  const room = await t.app.inject({ method: 'POST', url: '/api/rooms/direct', headers: bearer(alice.token), payload: { targetUserId: bob.userId } });
  roomId = room.json().roomId;
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await admin.disconnect().catch(() => {});
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

const sql = () => t.app.deps.database.sql;
const stored = async (content: string) => (await sql()<{ id: number }[]>`select id from messages where room_id = ${roomId} and content = ${content}`)[0]?.id;

describe('a Kafka that lost its topics', () => {
  it('should re-create the topics and resume producing and all three consumer groups by itself', async () => {
    const a = await connectStomp(t.baseUrl, alice.token);
    const b = await connectStomp(t.baseUrl, bob.token);
    clients.push(a, b);
    await a.subscribe('/user/queue/errors');
    await b.subscribe(`/topic/room.${roomId}`);
    await b.subscribe(`/topic/room.${roomId}.events`);
    await a.sendWithReceipt('/app/chat.send', { roomId, content: 'before' });
    await waitFor(() => stored('before'), { timeoutMs: 15_000, what: 'the first message stored' });

    const names = topicSpecs(t.app.deps.topics).map((spec) => spec.topic);
    await admin.deleteTopics({ topics: names, timeout: 10_000 });
    await waitFor(async () => (await admin.listTopics()).every((topic) => !names.includes(topic)), { timeoutMs: 15_000, what: 'the topics gone' });
    const lostAt = Date.now();

    // A client keeps sending, as a user would; each SEND is answered (RECEIPT or error) in bounded time.
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
      { timeoutMs: 90_000, intervalMs: 200, what: 'a SEND accepted again after the topics were lost' },
    );
    console.log(`kafka topics lost: the first SEND accepted again ${Date.now() - lostAt} ms after the deletion, attempt ${attempt}`);

    // The broker may still be propagating the new topics' metadata to the admin client.
    const metadata = await waitFor(() => admin.fetchTopicMetadata({ topics: names }), { timeoutMs: 15_000, what: 'the topics metadata' });
    expect(Object.fromEntries(metadata.map((topic) => [topic.name, topic.partitions.length]))).toEqual(
      Object.fromEntries(topicSpecs(t.app.deps.topics).map((spec) => [spec.topic, spec.numPartitions])),
    );

    // Persistence and broadcast resumed: the message is stored and reaches the subscriber live.
    const id = await waitFor(() => stored(accepted!), { timeoutMs: 60_000, what: 'the message stored after the topics came back' });
    await waitFor(() => b.bodies<{ content: string }>(`/topic/room.${roomId}`).some((message) => message.content === accepted), {
      timeoutMs: 60_000,
      what: 'the message delivered live after the topics came back',
    });
    // The read-receipt group resumed too.
    await b.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageId: id });
    await waitFor(() => b.bodies<{ lastReadMessageId: number }>(`/topic/room.${roomId}.events`).some((event) => event.lastReadMessageId === id), {
      timeoutMs: 60_000,
      what: 'the READ event after the topics came back',
    });
    console.log(`kafka topics lost: stored, delivered and read ${Date.now() - lostAt} ms after the deletion`);
  }, 240_000);

  it('should renew the consumers of topics that were deleted and created again between two looks (another instance was quicker)', async () => {
    // An instance of its own, which looks only when asked: the topics go and come back unseen.
    const quiet = testEnv({ KAFKA_TOPIC_CHECK_INTERVAL_MS: '600000' });
    const other = await startTestApp(quiet);
    try {
      const [carol, dave] = await Promise.all([signup(other.app), signup(other.app)]);
      const room = (await other.app.inject({ method: 'POST', url: '/api/rooms/direct', headers: bearer(carol.token), payload: { targetUserId: dave.userId } })).json().roomId;
      const c = await connectStomp(other.baseUrl, carol.token);
      clients.push(c);
      const storedThere = async (content: string) =>
        (await other.app.deps.database.sql<{ id: number }[]>`select id from messages where room_id = ${room} and content = ${content}`)[0]?.id;
      await c.sendWithReceipt('/app/chat.send', { roomId: room, content: 'first' });
      await waitFor(() => storedThere('first'), { timeoutMs: 15_000, what: 'the first message stored' });

      const names = topicSpecs(other.app.deps.topics).map((spec) => spec.topic);
      await admin.deleteTopics({ topics: names, timeout: 10_000 });
      await waitFor(async () => (await admin.listTopics()).every((topic) => !names.includes(topic)), { timeoutMs: 15_000, what: 'the topics gone' });
      // Created again as another instance's keeper does it: after its grace, which outlasts the
      // commits a consumer retries as it loses a topic (a commit landing on the new topic would skip records).
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      await ensureTopics(admin as never, other.app.deps.topics);

      await other.app.deps.topicKeeper.look();
      await c.sendWithReceipt('/app/chat.send', { roomId: room, content: 'second' });
      await waitFor(() => storedThere('second'), { timeoutMs: 60_000, what: 'the message stored by the renewed consumers' });
    } finally {
      await other.close();
      await cleanupTestEnv(quiet, other.app);
    }
  }, 120_000);
});
