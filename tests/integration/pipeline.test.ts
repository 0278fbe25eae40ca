import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const isolation = testEnv();
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  alice = await signup(t.app);
  bob = await signup(t.app);
  const room = await t.app.inject({ method: 'POST', url: '/api/rooms/direct', headers: bearer(alice.token), payload: { targetUserId: bob.userId } });
  expect(room.statusCode).toBe(201);
  roomId = room.json().roomId;
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

describe('message pipeline', () => {
  it('should deliver a SEND to both subscribers through Kafka and Redis, and store it once with its offset', async () => {
    const a = await connectStomp(t.baseUrl, alice.token);
    const b = await connectStomp(t.baseUrl, bob.token);
    clients.push(a, b);
    const topic = `/topic/room.${roomId}`;
    await a.subscribe(topic);
    await b.subscribe(topic);

    const receipt = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'hello bob' });
    const messageKey = receipt['message-key'];
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

    const rows = await waitFor(async () => {
      const found = await t.app.deps.database.sql`select * from messages where message_key = ${messageKey}`;
      return found.length === 1 ? found : undefined;
    });
    expect(rows[0]).toMatchObject({ room_id: roomId, sender_id: alice.userId, content: 'hello bob' });
    expect(rows[0]!.kafka_partition).toBeGreaterThanOrEqual(0);
    expect(rows[0]!.kafka_offset).toBeGreaterThanOrEqual(0);

    const unread = await t.app.deps.database.sql`select user_id, unread_count from chat_room_members where room_id = ${roomId} order by user_id`;
    expect(Object.fromEntries(unread.map((row) => [row.user_id, row.unread_count]))).toEqual({ [alice.userId]: 0, [bob.userId]: 1 });
  });
});
