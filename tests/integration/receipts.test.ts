import { randomUUID } from 'node:crypto';
import type { IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unreadKey } from '../../src/unread/unread-cache.js';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { readTopic } from '../helpers/kafka.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/** How long a receipt naming a message not stored yet waits for it (the default is 60 s). */
const PENDING_WAIT_MS = 3_000;
const RATE_LIMIT = 10;
const isolation = testEnv({
  CONSUMER_RETRY_BACKOFF_MS: '100',
  PENDING_MESSAGE_WAIT_MS: String(PENDING_WAIT_MS),
  READ_RECEIPT_RATE_LIMIT_PER_SECOND: String(RATE_LIMIT),
});
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let carol: SignedUpUser;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  [alice, bob, carol] = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

const sql = () => t.app.deps.database.sql;
const topicOf = (roomId: number) => `/topic/room.${roomId}`;
const eventsOf = (roomId: number) => `/topic/room.${roomId}.events`;

async function directRoom(user: SignedUpUser, other: SignedUpUser): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(user.token),
    payload: { targetUserId: other.userId },
  });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json().roomId;
}

async function connect(user: SignedUpUser): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  clients.push(client);
  return client;
}

/** Sends over STOMP and waits until the persistence consumer stored it; returns its key and id. */
async function sendStored(client: TestStompClient, roomId: number, content: string): Promise<{ key: string; id: number }> {
  const key = (await client.sendWithReceipt('/app/chat.send', { roomId, content }))['message-key']!;
  const id = await waitFor(async () => (await sql()<{ id: number }[]>`select id from messages where message_key = ${key}`)[0]?.id, {
    timeoutMs: 15_000,
    what: `message ${key} stored`,
  });
  return { key, id };
}

const postRead = (user: SignedUpUser, roomId: number, payload: object) =>
  t.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/read`, headers: bearer(user.token), payload });

async function member(roomId: number, user: SignedUpUser) {
  const [row] = await sql()<{ unreadCount: number; lastRead: number | null }[]>`
    select unread_count as "unreadCount", last_read_message_id as "lastRead"
    from chat_room_members where room_id = ${roomId} and user_id = ${user.userId}`;
  return row!;
}

/** The unread count GET /api/rooms answers for one room. */
async function listedUnread(user: SignedUpUser, roomId: number): Promise<number> {
  const response = await t.app.inject({ method: 'GET', url: '/api/rooms', headers: bearer(user.token) });
  expect(response.statusCode, response.body).toBe(200);
  const room = (response.json() as { roomId: number; unreadCount: number }[]).find((candidate) => candidate.roomId === roomId);
  return room!.unreadCount;
}

const receiptsGroup = () => `${isolation.env.KAFKA_GROUP_PREFIX}chat-read-receipts`;
const dltCount = async () => {
  const { kafkaAdmin, topics } = t.app.deps;
  return (await kafkaAdmin.fetchTopicOffsets(topics.readReceiptsDlt)).reduce((sum, partition) => sum + Number(partition.high), 0);
};

const cached = (roomId: number, user: SignedUpUser) =>
  t.app.deps.redis.get(unreadKey(isolation.env.REDIS_KEY_PREFIX!, roomId, user.userId));

/**
 * One step settled: the API answers `expected`, and the cache then holds exactly what the
 * database holds. Waiting is only for the consumer to get there; once the API shows the new
 * count, the cache must never disagree with the database again.
 */
async function expectSettled(roomId: number, user: SignedUpUser, expected: number): Promise<void> {
  await waitFor(async () => (await member(roomId, user)).unreadCount === expected, {
    timeoutMs: 15_000,
    what: `database unread ${expected}`,
  });
  await waitFor(async () => (await listedUnread(user, roomId)) === expected, {
    timeoutMs: 5_000,
    what: `GET /api/rooms unread ${expected}`,
  });
  expect(await cached(roomId, user)).toBe(String((await member(roomId, user)).unreadCount));
}

const readEvents = (client: TestStompClient, roomId: number) =>
  client.received(eventsOf(roomId)).filter((message: IMessage) => message.headers.event === 'READ');

describe('read receipts and unread counts', () => {
  it("should raise B's unread 0 -> 3 with three messages and bring it to 0 when B reads the last by id, the cache equal to the database after every step", async () => {
    const roomId = await directRoom(alice, bob);
    const a = await connect(alice);
    const b = await connect(bob);
    for (const client of [a, b]) {
      await client.subscribe(topicOf(roomId));
      await client.subscribe(eventsOf(roomId));
    }

    await expectSettled(roomId, bob, 0);
    let last = { key: '', id: 0 };
    for (const [index, content] of ['one', 'two', 'three'].entries()) {
      last = await sendStored(a, roomId, content);
      await expectSettled(roomId, bob, index + 1);
    }

    const accepted = await postRead(bob, roomId, { lastReadMessageId: last.id });
    expect(accepted.statusCode, accepted.body).toBe(202);
    expect(accepted.json()).toEqual({ roomId, lastReadMessageId: last.id, lastReadMessageKey: null });

    // Both members see the READ event on the room's events topic; the room topic keeps chat messages only.
    await waitFor(() => readEvents(a, roomId).length === 1 && readEvents(b, roomId).length === 1, { what: 'READ event on both sockets' });
    const event = readEvents(a, roomId)[0]!;
    expect(event.headers['content-type']).toBe('application/json');
    expect(JSON.parse(event.body)).toEqual({
      type: 'READ',
      roomId,
      userId: bob.userId,
      lastReadMessageId: last.id,
      unreadCount: 0,
      timestamp: expect.any(Number),
    });
    expect(a.received(eventsOf(roomId))).toHaveLength(1);
    expect(a.bodies<{ content: string }>(topicOf(roomId)).map((message) => message.content)).toEqual(['one', 'two', 'three']);
    expect(a.received(topicOf(roomId)).filter((message) => message.headers.event !== undefined)).toEqual([]);

    // The consumer wrote the new count itself, before anyone asked for it.
    expect(await member(roomId, bob)).toEqual({ unreadCount: 0, lastRead: last.id });
    expect(await cached(roomId, bob)).toBe('0');
    await expectSettled(roomId, bob, 0);
    expect((await member(roomId, alice)).unreadCount).toBe(0);
  });

  it('should do the same when B names the last message by its key, even right after it was sent', async () => {
    const roomId = await directRoom(alice, carol);
    const a = await connect(alice);
    await expectSettled(roomId, carol, 0);
    await sendStored(a, roomId, 'first');
    await expectSettled(roomId, carol, 1);
    await sendStored(a, roomId, 'second');
    await expectSettled(roomId, carol, 2);

    // A client that saw the message live knows only its key; the message may not be stored yet.
    const key = (await a.sendWithReceipt('/app/chat.send', { roomId, content: 'third' }))['message-key']!;
    const accepted = await postRead(carol, roomId, { lastReadMessageKey: key });
    expect(accepted.statusCode, accepted.body).toBe(202);
    expect(accepted.json()).toMatchObject({ roomId, lastReadMessageKey: key });

    const [stored] = await waitFor(() =>
      sql()<{ id: number }[]>`select id from messages where message_key = ${key}`.then((rows) => (rows.length ? rows : undefined)),
    );
    await waitFor(async () => (await member(roomId, carol)).lastRead === stored!.id, { timeoutMs: 15_000, what: 'read mark moved by key' });
    await expectSettled(roomId, carol, 0);
  });

  it('should change nothing for a receipt of an older message after a newer one', async () => {
    const roomId = await directRoom(bob, carol);
    const b = await connect(bob);
    const c = await connect(carol);
    await c.subscribe(eventsOf(roomId));
    const older = await sendStored(b, roomId, 'older');
    await sendStored(b, roomId, 'middle');
    const newer = await sendStored(b, roomId, 'newer');
    await expectSettled(roomId, carol, 3);

    expect((await postRead(carol, roomId, { lastReadMessageId: newer.id })).statusCode).toBe(202);
    await expectSettled(roomId, carol, 0);
    await waitFor(() => readEvents(c, roomId).length === 1, { what: 'READ event for the newer message' });
    const fourth = await sendStored(b, roomId, 'after the read');
    await expectSettled(roomId, carol, 1);

    expect((await postRead(carol, roomId, { lastReadMessageId: older.id })).statusCode).toBe(202);
    // Receipts of one room share a partition and are applied in order: once this later receipt
    // (bob's own) is applied, carol's older one has been handled before it.
    expect((await postRead(bob, roomId, { lastReadMessageId: fourth.id })).statusCode).toBe(202);
    await waitFor(async () => (await member(roomId, bob)).lastRead === fourth.id, {
      timeoutMs: 15_000,
      what: "bob's later receipt applied",
    });
    await waitFor(() => readEvents(c, roomId).length === 2, { what: "READ event for bob's receipt" });

    expect(await member(roomId, carol)).toEqual({ unreadCount: 1, lastRead: newer.id });
    expect(readEvents(c, roomId).map((message) => JSON.parse(message.body).userId)).toEqual([carol.userId, bob.userId]);
    await expectSettled(roomId, carol, 1);
  });

  it('should accept SEND /app/chat.read with a RECEIPT and apply it like the REST call', async () => {
    const roomId = await directRoom(carol, bob);
    const c = await connect(carol);
    const b = await connect(bob);
    await b.subscribe(eventsOf(roomId));
    const message = await sendStored(c, roomId, 'read me over STOMP');
    await expectSettled(roomId, bob, 1);

    await b.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageKey: message.key });
    await waitFor(() => readEvents(b, roomId).length === 1, { what: 'READ event' });
    expect(JSON.parse(readEvents(b, roomId)[0]!.body)).toMatchObject({ userId: bob.userId, lastReadMessageId: message.id, unreadCount: 0 });
    await expectSettled(roomId, bob, 0);
  });

  it('should refuse a non-member with 403 over REST and on /user/queue/errors over STOMP', async () => {
    const roomId = await directRoom(alice, bob);
    const message = await sendStored(await connect(alice), roomId, 'not for carol');
    expectError(await postRead(carol, roomId, { lastReadMessageId: message.id }), 403, `/api/rooms/${roomId}/read`);

    const c = await connect(carol);
    await c.subscribe('/user/queue/errors');
    await expect(c.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageId: message.id })).rejects.toThrow(/not a member/i);
  });

  it("should refuse a receipt naming a message of another room by id with 404, and look a key up in the receipt's room only", async () => {
    const roomId = await directRoom(alice, bob);
    const otherRoom = await directRoom(bob, carol);
    const foreign = await sendStored(await connect(carol), otherRoom, 'in the other room');
    expectError(await postRead(bob, roomId, { lastReadMessageId: foreign.id }), 404);
    expectError(await postRead(bob, roomId, { lastReadMessageId: 987_654_321 }), 404);
    expectError(await postRead(bob, 987_654_321, { lastReadMessageId: foreign.id }), 404);

    // Keys are unique per sender, not per service: this key may yet name a message of this room,
    // so the receipt is accepted, waits, and is dead-lettered; it never names the foreign message.
    const before = await dltCount();
    expect((await postRead(bob, roomId, { lastReadMessageKey: foreign.key })).statusCode).toBe(202);
    await waitFor(async () => (await dltCount()) === before + 1, {
      timeoutMs: PENDING_WAIT_MS + 15_000,
      what: 'receipt in chat.read-receipts.dlt',
    });
    expect((await member(roomId, bob)).lastRead).not.toBe(foreign.id);
  });

  it('should answer 400 naming the field unless exactly one of lastReadMessageId and lastReadMessageKey is given', async () => {
    const roomId = await directRoom(alice, bob);
    for (const payload of [
      {},
      { lastReadMessageId: 1, lastReadMessageKey: randomUUID() },
      { lastReadMessageKey: 'not-a-uuid' },
      { lastReadMessageId: -1 },
    ]) {
      const body = expectError(await postRead(bob, roomId, payload), 400);
      expect(body.message).toMatch(/lastReadMessage(Id|Key)/);
    }
  });

  it('should dead-letter a receipt whose key never gets stored only once the wait is over, and keep applying later ones', async () => {
    const roomId = await directRoom(alice, bob);
    const before = await dltCount();
    const dlt = await readTopic(t.app.deps.topics.readReceiptsDlt);
    const missing = randomUUID();

    const postedAt = Date.now();
    expect((await postRead(bob, roomId, { lastReadMessageKey: missing })).statusCode).toBe(202);
    const letter = await waitFor(() => dlt.records.find((record) => record.value?.includes(missing)), {
      timeoutMs: PENDING_WAIT_MS + 15_000,
      what: 'the receipt in chat.read-receipts.dlt',
    });
    await dlt.close();
    expect(Date.now() - postedAt).toBeGreaterThanOrEqual(PENDING_WAIT_MS);
    expect(await dltCount()).toBe(before + 1);
    expect(letter.headers).toMatchObject({
      'kafka_dlt-exception-fqcn': 'MessageNotStoredError',
      'kafka_dlt-exception-message': `message ${missing} not stored in room ${roomId} after ${PENDING_WAIT_MS} ms`,
    });

    const a = await connect(alice);
    const next = await sendStored(a, roomId, 'after the dead letter');
    expect((await postRead(bob, roomId, { lastReadMessageId: next.id })).statusCode).toBe(202);
    await waitFor(async () => (await member(roomId, bob)).lastRead === next.id, { timeoutMs: 15_000, what: 'the next receipt applied' });
    await expectSettled(roomId, bob, 0);
  });

  it('should apply a receipt whose message is stored after it, let later receipts of its partition go on meanwhile, and commit nothing past it', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/group',
      headers: bearer(alice.token),
      payload: { name: 'late messages', memberIds: [bob.userId, carol.userId] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const roomId: number = created.json().roomId;
    const a = await connect(alice);
    const first = await sendStored(a, roomId, 'stored before the receipts');
    const receipts = await readTopic(t.app.deps.topics.readReceipts);
    try {
      // Bob read a message live whose row is late (persistence lags during a failover).
      const lateKey = randomUUID();
      expect((await postRead(bob, roomId, { lastReadMessageKey: lateKey })).statusCode).toBe(202);
      // Carol's receipt comes after Bob's on the same partition (same room) and is applied at once.
      expect((await postRead(carol, roomId, { lastReadMessageId: first.id })).statusCode).toBe(202);
      await waitFor(async () => (await member(roomId, carol)).lastRead === first.id, {
        timeoutMs: 10_000,
        what: "carol's later receipt applied",
      });

      const waiting = await waitFor(() => receipts.records.find((record) => record.value?.includes(lateKey)), {
        what: "bob's receipt on the topic",
      });
      const committed = async () => {
        const [group] = await t.app.deps.kafkaAdmin.fetchOffsets({
          groupId: receiptsGroup(),
          topics: [t.app.deps.topics.readReceipts],
          timeout: 5_000,
        });
        const offset = group?.partitions.find((partition) => partition.partition === waiting.partition)?.offset;
        return offset === undefined || offset === '-1' ? -1 : Number(offset);
      };
      // Carol's receipt is committed only as far as Bob's, which still waits: a crash now must not lose it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await committed()).toBeLessThanOrEqual(Number(waiting.offset));
      expect((await member(roomId, bob)).lastRead).toBeNull();

      const late = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'stored late', messageKey: lateKey });
      expect(late['message-key']).toBe(lateKey);
      const lateId = await waitFor(
        async () => (await sql()<{ id: number }[]>`select id from messages where room_id = ${roomId} and message_key = ${lateKey}`)[0]?.id,
        {
          timeoutMs: 15_000,
          what: 'the late message stored',
        },
      );
      await waitFor(async () => (await member(roomId, bob)).lastRead === lateId, {
        timeoutMs: 10_000,
        what: "bob's receipt applied once the message is stored",
      });
      await waitFor(async () => (await committed()) > Number(waiting.offset), { timeoutMs: 10_000, what: "the commit past bob's receipt" });
      await expectSettled(roomId, bob, 0);
    } finally {
      await receipts.close();
    }
  });

  it('should refuse read receipts past the per-user limit: 429 with Retry-After over REST, an error on /user/queue/errors over STOMP', async () => {
    const dave = await signup(t.app);
    const roomId = await directRoom(alice, dave);
    const message = await sendStored(await connect(alice), roomId, 'read me too often');

    const answers = await Promise.all(
      Array.from({ length: RATE_LIMIT + 5 }, () => postRead(dave, roomId, { lastReadMessageId: message.id })),
    );
    const refused = answers.filter((answer) => answer.statusCode === 429);
    expect(answers.filter((answer) => answer.statusCode === 202)).toHaveLength(RATE_LIMIT);
    expect(refused).toHaveLength(5);
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.json().message).toBe('rate limit exceeded: too many read receipts per second');

    // REST and STOMP share the user's window: it is still full.
    const d = await connect(dave);
    await d.subscribe('/user/queue/errors');
    await expect(d.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageId: message.id })).rejects.toThrow(/too many read receipts/);
    expect(d.closes).toEqual([]);
    // Another user is not limited by dave's receipts.
    expect((await postRead(alice, roomId, { lastReadMessageId: message.id })).statusCode).toBe(202);
  });
});
