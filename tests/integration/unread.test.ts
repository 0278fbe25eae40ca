import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { storeMessages, type StoreResult } from '../../src/messages/message-store.js';
import { createRoomsRepository } from '../../src/rooms/rooms-repository.js';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import { createUnreadCache, unreadKey, type UnreadCache } from '../../src/unread/unread-cache.js';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { DEAD_PORT, uniqueSuffix } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const isolation = testEnv();
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
/** A second cache over the same Redis prefix, as another instance of the cluster would hold. */
let cache: UnreadCache;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
  cache = createUnreadCache({
    redis: t.app.deps.redis,
    keyPrefix: isolation.env.REDIS_KEY_PREFIX!,
    ttlSeconds: 60,
    log: t.app.log as Logger,
  });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

const sql = () => t.app.deps.database.sql;
const loadFromDatabase = () => createRoomsRepository(sql()).unreadCounts;
const cached = (roomId: number, user: SignedUpUser) =>
  t.app.deps.redis.get(unreadKey(isolation.env.REDIS_KEY_PREFIX!, roomId, user.userId));

async function newRoom(user: SignedUpUser, other: SignedUpUser): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(user.token),
    payload: { name: `room ${uniqueSuffix()}`, memberIds: [other.userId] },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().roomId;
}

/** Stores a message as the persistence consumer does (one transaction, unread counts raised). */
const storeOne = (roomId: number, sender: SignedUpUser): Promise<StoreResult> =>
  storeMessages(sql(), [
    {
      message: {
        messageKey: randomUUID(),
        roomId,
        senderId: sender.userId,
        senderNickname: sender.nickname,
        content: 'hi',
        type: 'TEXT',
        timestamp: new Date().toISOString(),
      },
      partition: 0,
      offset: '0',
    },
  ]);

async function databaseUnread(roomId: number, user: SignedUpUser): Promise<number> {
  const [row] = await sql()<
    { n: number }[]
  >`select unread_count as n from chat_room_members where room_id = ${roomId} and user_id = ${user.userId}`;
  return row!.n;
}

async function listedUnread(app: TestApp['app'], user: SignedUpUser): Promise<Record<number, number>> {
  const response = await app.inject({ method: 'GET', url: '/api/rooms', headers: bearer(user.token) });
  expect(response.statusCode, response.body).toBe(200);
  return Object.fromEntries((response.json() as { roomId: number; unreadCount: number }[]).map((room) => [room.roomId, room.unreadCount]));
}

describe('unread-count cache', () => {
  it('should fill a miss from PostgreSQL and answer the next read from Redis', async () => {
    const roomId = await newRoom(alice, bob);
    await storeOne(roomId, alice);
    let loads = 0;
    const read = cache.readThrough(async (userId, roomIds) => {
      loads += 1;
      return loadFromDatabase()(userId, roomIds);
    });
    expect(await read(bob.userId, [roomId])).toEqual(new Map([[roomId, 1]]));
    expect(await cached(roomId, bob)).toBe('1');
    expect(await read(bob.userId, [roomId])).toEqual(new Map([[roomId, 1]]));
    expect(loads).toBe(1);
  });

  it('should refuse the fill of a reader that read PostgreSQL before a message was stored and its count invalidated', async () => {
    const roomId = await newRoom(alice, bob);
    // The reader misses, reads the old count, and before it can fill, a message is stored and
    // the persistence consumer invalidates: the classic cache-aside race, forced in this order.
    const racingRead = cache.readThrough(async (userId, roomIds) => {
      const old = await loadFromDatabase()(userId, roomIds);
      await cache.afterStore(await storeOne(roomId, alice));
      return old;
    });
    expect(await racingRead(bob.userId, [roomId])).toEqual(new Map([[roomId, 0]]));
    expect(await databaseUnread(roomId, bob)).toBe(1);
    expect(await cached(roomId, bob)).toBeNull();

    expect(await cache.readThrough(loadFromDatabase())(bob.userId, [roomId])).toEqual(new Map([[roomId, 1]]));
    expect(await cached(roomId, bob)).toBe('1');
  });

  it("should drop, not store, a receipt's recomputed count when a message was stored between its generation read and its write", async () => {
    const roomId = await newRoom(alice, bob);
    const member = { roomId, userId: bob.userId };

    const quiet = await cache.beginWrite(member);
    expect(await cache.commitWrite(quiet, 0)).toBe('stored');
    expect(await cached(roomId, bob)).toBe('0');

    const raced = await cache.beginWrite(member);
    await cache.afterStore(await storeOne(roomId, alice));
    expect(await cache.commitWrite(raced, 0)).toBe('dropped');
    expect(await cached(roomId, bob)).toBeNull();
    expect(await cache.readThrough(loadFromDatabase())(bob.userId, [roomId])).toEqual(new Map([[roomId, 1]]));
  });

  it("should have the persistence consumer drop the cached counts of the members whose unread rose, and leave the sender's", async () => {
    const roomId = await newRoom(alice, bob);
    expect((await listedUnread(t.app, alice))[roomId]).toBe(0);
    expect((await listedUnread(t.app, bob))[roomId]).toBe(0);
    expect([await cached(roomId, alice), await cached(roomId, bob)]).toEqual(['0', '0']);

    const a = await connectStomp(t.baseUrl, alice.token);
    clients.push(a);
    await a.sendWithReceipt('/app/chat.send', { roomId, content: 'raise it' });
    await waitFor(async () => (await databaseUnread(roomId, bob)) === 1, { timeoutMs: 15_000, what: 'message stored' });
    await waitFor(async () => (await cached(roomId, bob)) === null, { timeoutMs: 5_000, what: "bob's cached count dropped" });
    expect(await cached(roomId, alice)).toBe('0');
    expect((await listedUnread(t.app, bob))[roomId]).toBe(1);
    expect(await cached(roomId, bob)).toBe('1');
  });

  it('should answer GET /api/rooms with the correct counts from PostgreSQL on an instance whose Redis is unreachable', async () => {
    const busy = await newRoom(alice, bob);
    const quiet = await newRoom(bob, alice);
    await storeOne(busy, alice);
    await storeOne(busy, alice);
    await storeOne(quiet, bob);
    const expected = { [busy]: 2, [quiet]: 0 };
    expect(await listedUnread(t.app, bob)).toMatchObject(expected);

    // Same database, Redis on a dead port, Kafka topics and groups of its own so it leaves the
    // first instance's consumer groups alone.
    const kafkaPrefix = `t_${uniqueSuffix()}.`;
    const blind = await startTestApp(isolation, {
      env: {
        REDIS_URL: `redis://127.0.0.1:${DEAD_PORT}`,
        MIGRATE_ON_START: 'false',
        KAFKA_TOPIC_PREFIX: kafkaPrefix,
        KAFKA_GROUP_PREFIX: kafkaPrefix,
      },
      overrides: { waitForDependencies: false },
      listen: false,
    });
    try {
      expect(blind.app.deps.redis.isReady).toBe(false);
      const started = Date.now();
      expect(await listedUnread(blind.app, bob)).toMatchObject(expected);
      expect(await listedUnread(blind.app, alice)).toMatchObject({ [busy]: 0, [quiet]: 1 });
      expect(Date.now() - started).toBeLessThan(2_000);
      // Presence lives only in Redis: the honest answer is "unavailable", not "nobody is online".
      expectError(await blind.app.inject({ method: 'GET', url: `/api/rooms/${busy}/members/online`, headers: bearer(bob.token) }), 503);
    } finally {
      await blind.close();
      const admin = t.app.deps.kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: topicSpecs(topicNames(kafkaPrefix)).map((spec) => spec.topic), timeout: 5_000 }).catch(() => {});
      await admin.disconnect();
    }
  });
});
