import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChatMessage } from '../../src/messages/chat-message.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { rawProducer, type RawProducer } from '../helpers/kafka.js';
import { numberedMessages, streamSends } from '../helpers/send-stream.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

// The ordering test sends 500 messages as fast as the pipeline takes them.
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100000' });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let producer: RawProducer;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  alice = await signup(t.app);
  bob = await signup(t.app);
  producer = await rawProducer();
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await producer?.close();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function connect(user: SignedUpUser): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  clients.push(client);
  return client;
}

/** A fresh room for each test, so unread counts and order start from nothing. */
async function newRoom(): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(alice.token),
    payload: { name: `room ${randomUUID().slice(0, 8)}`, memberIds: [bob.userId] },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().roomId as number;
}

const sql = () => t.app.deps.database.sql;

async function unreadCounts(roomId: number): Promise<Record<number, number>> {
  const rows = await sql()`select user_id, unread_count from chat_room_members where room_id = ${roomId}`;
  return Object.fromEntries(rows.map((row) => [Number(row.user_id), Number(row.unread_count)]));
}

/** Resolves once the row for `messageKey` is stored: everything before it in the room's partition is done too. */
async function storedRow(messageKey: string) {
  return waitFor(async () => (await sql()`select * from messages where message_key = ${messageKey}`)[0], {
    timeoutMs: 15_000,
    what: `row ${messageKey}`,
  });
}

const chatRecord = (roomId: number, sender: SignedUpUser, content: string, messageKey = randomUUID()) =>
  encodeChatMessage({
    messageKey,
    roomId,
    senderId: sender.userId,
    senderNickname: sender.nickname,
    content,
    type: 'TEXT',
    timestamp: new Date().toISOString(),
  });

describe('message pipeline', () => {
  it('should deliver a SEND to both subscribers through Kafka and Redis, and store it once with its offset', async () => {
    const direct = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/direct',
      headers: bearer(alice.token),
      payload: { targetUserId: bob.userId },
    });
    expect(direct.statusCode).toBe(201);
    const roomId: number = direct.json().roomId;
    const a = await connect(alice);
    const b = await connect(bob);
    const topic = `/topic/room.${roomId}`;
    await a.subscribe(topic);
    await b.subscribe(topic);

    const receipt = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'hello bob' });
    const messageKey = receipt['message-key']!;
    expect(messageKey).toMatch(/^[0-9a-f-]{36}$/);

    await waitFor(() => a.received(topic).length === 1 && b.received(topic).length === 1, { what: 'both deliveries' });
    const delivered = b.received(topic)[0]!;
    expect(delivered.headers['content-type']).toBe('application/json');
    expect(delivered.headers.destination).toBe(topic);
    expect(JSON.parse(delivered.body)).toEqual({
      messageKey,
      roomId,
      senderId: alice.userId,
      senderNickname: alice.nickname,
      content: 'hello bob',
      type: 'TEXT',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const row = await storedRow(messageKey);
    expect(row).toMatchObject({ room_id: roomId, sender_id: alice.userId, content: 'hello bob' });
    expect(row.kafka_partition).toBeGreaterThanOrEqual(0);
    expect(row.kafka_offset).toBeGreaterThanOrEqual(0);
    expect(await unreadCounts(roomId)).toEqual({ [alice.userId]: 0, [bob.userId]: 1 });
  });

  it('should store a messageKey sent twice over STOMP once and count it once as unread', async () => {
    const roomId = await newRoom();
    const a = await connect(alice);
    const messageKey = randomUUID();

    // Both SENDs are acknowledged: a resend after a network blip must not look like a failure.
    const first = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'once', messageKey });
    const second = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'once', messageKey });
    expect(first['message-key']).toBe(messageKey);
    expect(second['message-key']).toBe(messageKey);
    const marker = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'after' });
    await storedRow(marker['message-key']!);

    const rows = await sql()`select message_key, content from messages where room_id = ${roomId} order by id`;
    expect(rows.map((row) => [row.message_key, row.content])).toEqual([
      [messageKey, 'once'],
      [marker['message-key'], 'after'],
    ]);
    expect(await unreadCounts(roomId)).toEqual({ [alice.userId]: 0, [bob.userId]: 2 });
  });

  it('should store a record produced twice straight to Kafka once and count it once as unread', async () => {
    const roomId = await newRoom();
    const duplicate = chatRecord(roomId, bob, 'produced twice');
    const markerKey = randomUUID();

    await producer.send(t.app.deps.topics.messages, { key: String(roomId), value: duplicate });
    await producer.send(t.app.deps.topics.messages, { key: String(roomId), value: duplicate });
    await producer.send(t.app.deps.topics.messages, { key: String(roomId), value: chatRecord(roomId, bob, 'marker', markerKey) });
    const marker = await storedRow(markerKey);

    const rows = await sql()`select content, kafka_partition, kafka_offset from messages where room_id = ${roomId} order by id`;
    expect(rows.map((row) => row.content)).toEqual(['produced twice', 'marker']);
    // The first copy wins; the second changes nothing.
    expect(Number(rows[0]!.kafka_offset)).toBe(Number(marker.kafka_offset) - 2);
    expect(await unreadCounts(roomId)).toEqual({ [alice.userId]: 2, [bob.userId]: 0 });
  });

  it('should deliver and store 500 pipelined messages from one sender in send order', async () => {
    const roomId = await newRoom();
    const topic = `/topic/room.${roomId}`;
    const a = await connect(alice);
    const b = await connect(bob);
    await b.subscribe(topic);
    const count = 500;
    const messages = numberedMessages(count);

    const result = await streamSends(a, { roomId, messages, window: 100, timeoutMs: 30_000 });
    expect(result.receipted).toHaveLength(count);
    expect(result.refused).toEqual([]);

    const expected = messages.map((message) => message.content);
    await waitFor(() => b.received(topic).length >= count, { timeoutMs: 20_000, what: `${count} deliveries` });
    const delivered = b.bodies<{ content: string; messageKey: string }>(topic);
    expect(delivered.map((message) => message.content)).toEqual(expected);
    expect(delivered.map((message) => message.messageKey)).toEqual(result.sent);

    await storedRow(result.sent.at(-1)!);
    const rows = await sql()`
      select id, content, kafka_partition, kafka_offset from messages where room_id = ${roomId} order by id`;
    expect(rows.map((row) => row.content)).toEqual(expected);
    // message-store's claim: ids follow Kafka's order, across and within batches.
    expect(new Set(rows.map((row) => row.kafka_partition)).size).toBe(1);
    const offsets = rows.map((row) => Number(row.kafka_offset));
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    expect(await unreadCounts(roomId)).toEqual({ [alice.userId]: 0, [bob.userId]: count });
  });
});
