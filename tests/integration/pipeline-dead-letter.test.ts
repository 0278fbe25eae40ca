import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChatMessage } from '../../src/messages/chat-message.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { rawProducer, readTopic, type RawProducer, type ReadRecord, type TopicReader } from '../helpers/kafka.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const RETRY_BACKOFF_MS = 100;
const RETRY_ATTEMPTS = 3;
const isolation = testEnv({ CONSUMER_RETRY_BACKOFF_MS: String(RETRY_BACKOFF_MS), CONSUMER_RETRY_ATTEMPTS: String(RETRY_ATTEMPTS) });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
let producer: RawProducer;
let dlt: TopicReader;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  alice = await signup(t.app);
  bob = await signup(t.app);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode, room.body).toBe(201);
  roomId = room.json().roomId;
  producer = await rawProducer();
  dlt = await readTopic(t.app.deps.topics.messagesDlt);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await dlt?.close();
  await producer?.close();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

const sql = () => t.app.deps.database.sql;
const storedRow = (messageKey: string) =>
  waitFor(async () => (await sql()`select * from messages where message_key = ${messageKey}`)[0], {
    timeoutMs: 15_000,
    what: `row ${messageKey}`,
  });

describe('poison records', () => {
  it('should dead-letter invalid JSON and a message for a missing room after the retries, and keep the partition moving', async () => {
    const groups = {
      persistence: `${isolation.env.KAFKA_GROUP_PREFIX}chat-persistence`,
      broadcast: `${isolation.env.KAFKA_GROUP_PREFIX}chat-broadcast`,
    };
    const topic = t.app.deps.topics.messages;
    const a = await connectStomp(t.baseUrl, alice.token);
    const b = await connectStomp(t.baseUrl, bob.token);
    clients.push(a, b);
    const roomTopic = `/topic/room.${roomId}`;
    await b.subscribe(roomTopic);

    // Where the room's messages live, so the poison goes in front of them.
    const before = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'before the poison' });
    const partition = Number((await storedRow(before['message-key']!)).kafka_partition);

    const notJson = '{"messageKey": "unterminated';
    const missingRoomId = 2_000_000_000;
    const missingRoom = encodeChatMessage({
      messageKey: randomUUID(),
      roomId: missingRoomId,
      senderId: alice.userId,
      senderNickname: alice.nickname,
      content: 'to a room that does not exist',
      type: 'TEXT',
      timestamp: new Date().toISOString(),
    });
    const producedAt = Date.now();
    await producer.send(topic, { key: String(roomId), value: notJson, headers: { origin: 'test' } });
    await producer.send(topic, { key: String(missingRoomId), value: missingRoom, partition });

    const after = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'after the poison' });
    const afterRow = await storedRow(after['message-key']!);
    expect(Number(afterRow.kafka_partition)).toBe(partition);
    await waitFor(() => b.received(roomTopic).length === 2, { timeoutMs: 15_000, what: 'delivery after the poison' });
    expect(b.bodies<{ content: string }>(roomTopic).map((message) => message.content)).toEqual(['before the poison', 'after the poison']);

    // Invalid JSON fails in both groups; the missing room only where it is stored.
    const letters = await dlt.waitForCount(3);
    const deadLetteredAfterMs = Date.now() - producedAt;
    expect(deadLetteredAfterMs).toBeGreaterThanOrEqual(RETRY_ATTEMPTS * RETRY_BACKOFF_MS);
    const byGroupAndValue = (group: string, value: string) =>
      letters.find((letter: ReadRecord) => letter.headers['kafka_dlt-original-consumer-group'] === group && letter.value === value);

    const poisonOffset = Number(afterRow.kafka_offset) - 2;
    for (const group of [groups.persistence, groups.broadcast]) {
      const letter = byGroupAndValue(group, notJson);
      expect(letter, `invalid JSON dead-lettered by ${group}`).toBeDefined();
      expect(letter!.key).toBe(String(roomId));
      expect(letter!.headers).toMatchObject({
        origin: 'test',
        'kafka_dlt-original-topic': topic,
        'kafka_dlt-original-partition': String(partition),
        'kafka_dlt-original-offset': String(poisonOffset),
        'kafka_dlt-exception-fqcn': 'PoisonRecordError',
        'kafka_dlt-exception-message': expect.stringMatching(/^value is not JSON: /),
        'kafka_dlt-original-timestamp': expect.stringMatching(/^\d{13}$/),
      });
    }

    const missing = byGroupAndValue(groups.persistence, missingRoom);
    expect(missing, 'missing room dead-lettered by chat-persistence').toBeDefined();
    expect(missing!.key).toBe(String(missingRoomId));
    expect(missing!.headers).toMatchObject({
      'kafka_dlt-original-topic': topic,
      'kafka_dlt-original-partition': String(partition),
      'kafka_dlt-original-offset': String(poisonOffset + 1),
      'kafka_dlt-exception-fqcn': 'PostgresError',
      'kafka_dlt-exception-message': expect.stringContaining('foreign key constraint'),
    });
    expect(byGroupAndValue(groups.broadcast, missingRoom)).toBeUndefined();
    expect(letters).toHaveLength(3);

    const stored = await sql()`select content from messages where room_id = ${roomId} order by id`;
    expect(stored.map((row) => row.content)).toEqual(['before the poison', 'after the poison']);
    expect(await sql()`select 1 from messages where room_id = ${missingRoomId}`).toHaveLength(0);
  });
});
