import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageKeyClaims } from '../../src/messages/message-key-claims.js';
import { createRedis } from '../../src/redis/redis-client.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { DEAD_PORT } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 4: a RECEIPT always means that this sender's message is stored, in the room it
 * was sent to, with the content that was sent, and what subscribers receive live is what is
 * stored. Real STOMP clients against a real instance; a watcher subscribed to every room records
 * every MESSAGE, and the end of each test compares it with the rows.
 */

const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '1000' });
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

async function group(owner: SignedUpUser, members: SignedUpUser[]): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(owner.token),
    payload: { name: `keys ${randomUUID().slice(0, 8)}`, memberIds: members.map((member) => member.userId) },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().roomId as number;
}

/** A connected sender that hears its refusals on /user/queue/errors (so a refusal is not fatal). */
async function sender(user: SignedUpUser): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  clients.push(client);
  await client.subscribe('/user/queue/errors');
  return client;
}

/** Carol, a member of every room here, watching them all. */
async function watcher(roomIds: number[]): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, carol.token);
  clients.push(client);
  for (const roomId of roomIds) await client.subscribe(topicOf(roomId));
  return client;
}

type Outcome = { receipted: true; messageKey: string } | { receipted: false; code: string; message: string };
let receiptCounter = 0;

/** A SEND with a receipt, not waited for in order: resolves with its RECEIPT or its refusal. */
function send(client: TestStompClient, body: Record<string, unknown>): Promise<Outcome> {
  receiptCounter += 1;
  const receipt = `key-test-${receiptCounter}`;
  let outcome: Outcome | undefined;
  client.client.watchForReceipt(receipt, (frame) => {
    outcome = { receipted: true, messageKey: frame.headers['message-key']! };
  });
  client.client.publish({ destination: '/app/chat.send', body: JSON.stringify(body), headers: { receipt } });
  return waitFor(
    () => {
      if (outcome) return outcome;
      const refusal = client
        .bodies<{ code: string; message: string; receiptId: string }>('/user/queue/errors')
        .find((error) => error.receiptId === receipt);
      return refusal ? ({ receipted: false, code: refusal.code, message: refusal.message } as Outcome) : undefined;
    },
    { timeoutMs: 20_000, what: `RECEIPT or refusal of ${receipt}` },
  );
}

interface Row {
  sender_id: number;
  room_id: number;
  content: string;
}

const rowsWithKey = (messageKey: string) =>
  sql()<Row[]>`select sender_id, room_id, content from messages where message_key = ${messageKey} order by id`.then((rows) =>
    rows.map((row) => ({ ...row })),
  );

/** Waits until a marker sent after everything else is stored and delivered: the rows and the deliveries before it are final. */
async function settle(client: TestStompClient, watching: TestStompClient, roomId: number): Promise<void> {
  const marker = randomUUID();
  const sent = await send(client, { roomId, content: 'marker', messageKey: marker });
  expect(sent.receipted).toBe(true);
  await waitFor(async () => (await rowsWithKey(marker)).length === 1, { timeoutMs: 15_000, what: 'marker stored' });
  await waitFor(() => watching.bodies<{ messageKey: string }>(topicOf(roomId)).some((body) => body.messageKey === marker), {
    what: 'marker delivered',
  });
}

/** Every MESSAGE the watcher got with this key is one of its rows; every row was delivered. */
async function expectLiveEqualsStored(watching: TestStompClient, messageKey: string, roomIds: number[]): Promise<void> {
  const delivered = roomIds.flatMap((roomId) =>
    watching
      .bodies<{ messageKey: string; senderId: number; roomId: number; content: string }>(topicOf(roomId))
      .filter((body) => body.messageKey === messageKey)
      .map((body) => JSON.stringify({ sender_id: body.senderId, room_id: body.roomId, content: body.content })),
  );
  const stored = (await rowsWithKey(messageKey)).map((row) => JSON.stringify(row));
  expect(new Set(delivered)).toEqual(new Set(stored));
}

describe('message keys', () => {
  it("should store B's message as B's own when B reuses A's key in another room, and deliver exactly that", async () => {
    const roomA = await group(alice, [bob, carol]);
    const roomB = await group(bob, [carol]);
    const watching = await watcher([roomA, roomB]);
    const a = await sender(alice);
    const b = await sender(bob);
    const key = randomUUID();

    expect(await send(a, { roomId: roomA, content: "alice's words", messageKey: key })).toEqual({ receipted: true, messageKey: key });
    expect(await send(b, { roomId: roomB, content: "bob's words", messageKey: key })).toEqual({ receipted: true, messageKey: key });
    await settle(b, watching, roomB);
    await settle(a, watching, roomA);

    expect(await rowsWithKey(key)).toEqual([
      { sender_id: alice.userId, room_id: roomA, content: "alice's words" },
      { sender_id: bob.userId, room_id: roomB, content: "bob's words" },
    ]);
    await expectLiveEqualsStored(watching, key, [roomA, roomB]);
  });

  it("should refuse B reusing A's key in the same room, stored or still on its way, and deliver nothing for it", async () => {
    const room = await group(alice, [bob, carol]);
    const watching = await watcher([room]);
    const a = await sender(alice);
    const b = await sender(bob);

    // Stored already.
    const stored = randomUUID();
    expect((await send(a, { roomId: room, content: 'first', messageKey: stored })).receipted).toBe(true);
    await waitFor(async () => (await rowsWithKey(stored)).length === 1, { what: "alice's message stored" });
    const refused = await send(b, { roomId: room, content: 'copied key', messageKey: stored });
    expect(refused).toEqual({
      receipted: false,
      code: 'CONFLICT',
      message: `messageKey ${stored} is already used in room ${room}; use a new key`,
    });

    // On its way: both SENDs at once, so neither is stored when the other is checked.
    const racing = randomUUID();
    const outcomes = await Promise.all([
      send(a, { roomId: room, content: 'from alice', messageKey: racing }),
      send(b, { roomId: room, content: 'from bob', messageKey: racing }),
    ]);
    expect(outcomes.filter((outcome) => outcome.receipted)).toHaveLength(1);
    expect(outcomes.find((outcome) => !outcome.receipted)).toMatchObject({ code: 'CONFLICT' });
    await settle(a, watching, room);

    expect(await rowsWithKey(stored)).toEqual([{ sender_id: alice.userId, room_id: room, content: 'first' }]);
    const winner = outcomes[0]!.receipted
      ? { sender_id: alice.userId, content: 'from alice' }
      : { sender_id: bob.userId, content: 'from bob' };
    expect(await rowsWithKey(racing)).toEqual([{ ...winner, room_id: room }]);
    await expectLiveEqualsStored(watching, stored, [room]);
    await expectLiveEqualsStored(watching, racing, [room]);
  });

  it('should take a resend of the same message as harmless and refuse the key for another content or another room', async () => {
    const room = await group(alice, [bob, carol]);
    const otherRoom = await group(alice, [carol]);
    const watching = await watcher([room, otherRoom]);
    const a = await sender(alice);
    const key = randomUUID();

    expect(await send(a, { roomId: room, content: 'the message', messageKey: key })).toEqual({ receipted: true, messageKey: key });
    expect(await send(a, { roomId: room, content: 'the message', messageKey: key })).toEqual({ receipted: true, messageKey: key });
    const conflict = {
      receipted: false,
      code: 'CONFLICT',
      message: `messageKey ${key} already names another message of yours; use a new key for a new message`,
    };
    expect(await send(a, { roomId: room, content: 'something else', messageKey: key })).toEqual(conflict);
    expect(await send(a, { roomId: room, content: 'the message', type: 'IMAGE', messageKey: key })).toEqual(conflict);
    expect(await send(a, { roomId: otherRoom, content: 'the message', messageKey: key })).toEqual(conflict);
    // The same key in upper case is the same uuid, and the same key.
    expect(await send(a, { roomId: room, content: 'shouting', messageKey: key.toUpperCase() })).toEqual(conflict);
    await settle(a, watching, room);
    await settle(a, watching, otherRoom);

    expect(await rowsWithKey(key)).toEqual([{ sender_id: alice.userId, room_id: room, content: 'the message' }]);
    await expectLiveEqualsStored(watching, key, [room, otherRoom]);
  });

  it("should keep a sender's resend harmless even where another sender's message in the room carries the same key", async () => {
    const room = await group(alice, [bob, carol]);
    const a = await sender(alice);
    const key = randomUUID();
    expect((await send(a, { roomId: room, content: 'original', messageKey: key })).receipted).toBe(true);
    await waitFor(async () => (await rowsWithKey(key)).length === 1, { what: 'stored' });
    // What two senders racing while Redis was away leave behind (docs/pipeline.md).
    await sql()`insert into messages (message_key, room_id, sender_id, content) values (${key}, ${room}, ${bob.userId}, 'raced')`;

    expect(await send(a, { roomId: room, content: 'original', messageKey: key })).toEqual({ receipted: true, messageKey: key });
    expect(await send(a, { roomId: room, content: 'changed', messageKey: key })).toMatchObject({ receipted: false, code: 'CONFLICT' });
  });

  it('should give exactly one of many SENDs racing with one key and different contents a RECEIPT, and store that one', async () => {
    const room = await group(alice, [carol]);
    const watching = await watcher([room]);
    const a = await sender(alice);
    const key = randomUUID();

    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, index) => send(a, { roomId: room, content: `version ${index}`, messageKey: key })),
    );
    await settle(a, watching, room);

    const receipted = outcomes.flatMap((outcome, index) => (outcome.receipted ? [index] : []));
    expect(receipted).toHaveLength(1);
    expect(await rowsWithKey(key)).toEqual([{ sender_id: alice.userId, room_id: room, content: `version ${receipted[0]}` }]);
    await expectLiveEqualsStored(watching, key, [room]);
  });

  it('should still refuse a reused key from the database once its claim left Redis', async () => {
    const room = await group(alice, [carol]);
    const a = await sender(alice);
    const key = randomUUID();
    expect((await send(a, { roomId: room, content: 'kept', messageKey: key })).receipted).toBe(true);
    await waitFor(async () => (await rowsWithKey(key)).length === 1, { what: 'stored' });

    // The claims expire (MESSAGE_KEY_CLAIM_TTL_SECONDS) or Redis restarts empty.
    const prefix = isolation.env.REDIS_KEY_PREFIX!;
    await t.app.deps.redis.del([`${prefix}message-key:sender:${alice.userId}:${key}`, `${prefix}message-key:room:${room}:${key}`]);

    expect(await send(a, { roomId: room, content: 'replaced?', messageKey: key })).toMatchObject({ receipted: false, code: 'CONFLICT' });
    expect((await send(a, { roomId: room, content: 'kept', messageKey: key })).receipted).toBe(true);
    expect(await rowsWithKey(key)).toEqual([{ sender_id: alice.userId, room_id: room, content: 'kept' }]);
  });
});

describe('message key claims with a store away', () => {
  const message = (overrides: Partial<{ messageKey: string; senderId: number; roomId: number; content: string }> = {}) => ({
    messageKey: randomUUID(),
    senderId: alice.userId,
    roomId: 1,
    senderNickname: 'alice',
    content: 'hello',
    type: 'TEXT' as const,
    timestamp: new Date().toISOString(),
    ...overrides,
  });

  it('should let the database decide while Redis is away, and refuse as unavailable when both are', async () => {
    const log = pino({ level: 'silent' });
    const deadRedis = createRedis(`redis://127.0.0.1:${DEAD_PORT}`, log, 'dead');
    const room = await group(alice, [carol]);
    const a = await sender(alice);
    const key = randomUUID();
    expect((await send(a, { roomId: room, content: 'stored', messageKey: key })).receipted).toBe(true);
    await waitFor(async () => (await rowsWithKey(key)).length === 1, { what: 'stored' });

    const claims = createMessageKeyClaims({ sql: sql(), redis: deadRedis, keyPrefix: 'unused:', ttlSeconds: 60, log });
    await expect(claims.claim(message({ messageKey: key, roomId: room, content: 'other' }))).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(claims.claim(message({ messageKey: key, roomId: room, content: 'stored' }))).resolves.toBeUndefined();
    await expect(claims.claim(message())).resolves.toBeUndefined();

    const deadSql = postgres(`postgres://postgres@127.0.0.1:${DEAD_PORT}/chat`, { connect_timeout: 2, onnotice: () => {} });
    try {
      const bothAway = createMessageKeyClaims({ sql: deadSql, redis: deadRedis, keyPrefix: 'unused:', ttlSeconds: 60, log });
      await expect(bothAway.claim(message())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await deadSql.end({ timeout: 1 });
    }
  });
});
