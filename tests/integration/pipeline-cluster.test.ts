import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomChannel } from '../../src/messages/broadcast-consumer.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Two instances in one process sharing one isolation (database, topics, consumer groups, Redis
 * prefix), as two replicas behind nginx share the real services.
 */
const isolation = testEnv();
let one: TestApp;
let two: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  one = await startTestApp(isolation, { env: { INSTANCE_ID: 'node-1' } });
  two = await startTestApp(isolation, { env: { INSTANCE_ID: 'node-2' } });
  alice = await signup(one.app);
  bob = await signup(two.app);
  const room = await one.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode, room.body).toBe(201);
  roomId = room.json().roomId;
});
let twoClosed = false;
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([one?.close(), twoClosed ? undefined : two?.close()]);
  await cleanupTestEnv(isolation, one?.app);
});

async function connect(t: TestApp, user: SignedUpUser): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  clients.push(client);
  return client;
}

const partitionsOf = (t: TestApp, groupId: string) =>
  t.app.pipeline.runners
    .find((runner) => runner.groupId === groupId)!
    .assignment()
    .map((tp) => tp.partition);

/** How many Redis connections (instances) are subscribed to the room's channel. */
async function channelSubscribers(room: number): Promise<number> {
  const channel = roomChannel(isolation.env.REDIS_KEY_PREFIX!, room);
  const counts = await one.app.deps.redis.pubSubNumSub(channel);
  return Number(counts[channel] ?? 0);
}

describe('message pipeline across two instances', () => {
  it("should split each consumer group's six partitions between the two instances", async () => {
    const groups = one.app.pipeline.runners.map((runner) => runner.groupId);
    expect(groups).toEqual([`${isolation.env.KAFKA_GROUP_PREFIX}chat-persistence`, `${isolation.env.KAFKA_GROUP_PREFIX}chat-broadcast`]);

    for (const groupId of groups) {
      const split = await waitFor(
        () => {
          const first = partitionsOf(one, groupId);
          const second = partitionsOf(two, groupId);
          const union = new Set([...first, ...second]);
          return first.length > 0 && second.length > 0 && union.size === 6 && first.length + second.length === 6
            ? { first, second }
            : undefined;
        },
        { timeoutMs: 30_000, what: `${groupId} split between both instances` },
      );
      expect([...split.first, ...split.second].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('should deliver a message sent on one instance to a subscriber on the other, both ways', async () => {
    const topic = `/topic/room.${roomId}`;
    const a = await connect(one, alice);
    const b = await connect(two, bob);
    await a.subscribe(topic);
    await b.subscribe(topic);

    const fromOne = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'from node-1' });
    await waitFor(() => b.received(topic).length === 1, { what: 'delivery on node-2' });
    expect(b.bodies<{ messageKey: string; content: string }>(topic)[0]).toMatchObject({
      messageKey: fromOne['message-key'],
      content: 'from node-1',
    });

    const fromTwo = await b.sendWithReceipt('/app/chat.send', { roomId, content: 'from node-2' });
    await waitFor(() => a.received(topic).length === 2, { what: 'delivery on node-1' });
    expect(a.bodies<{ messageKey: string; content: string }>(topic).map((message) => message.content)).toEqual([
      'from node-1',
      'from node-2',
    ]);
    expect(a.bodies<{ messageKey: string }>(topic)[1]!.messageKey).toBe(fromTwo['message-key']);

    // Stored once, whichever instance's consumer owned the partition.
    const rows = await waitFor(async () => {
      const found = await one.app.deps.database.sql`select content from messages where room_id = ${roomId} order by id`;
      return found.length === 2 ? found : undefined;
    });
    expect(rows.map((row) => row.content)).toEqual(['from node-1', 'from node-2']);
  });

  it("should hold a room's Redis channel on an instance only while that instance has a subscriber of the room", async () => {
    const room = await one.app.inject({
      method: 'POST',
      url: '/api/rooms/group',
      headers: bearer(alice.token),
      payload: { name: 'fan-in', memberIds: [bob.userId] },
    });
    expect(room.statusCode, room.body).toBe(201);
    const groupId: number = room.json().roomId;
    const topic = `/topic/room.${groupId}`;
    expect(await channelSubscribers(groupId)).toBe(0);

    const b = await connect(two, bob);
    await b.subscribe(topic);
    await waitFor(async () => (await channelSubscribers(groupId)) === 1, { what: 'node-2 subscribed' });
    expect(two.app.pipeline.fanIn.channels()).toContain(groupId);
    expect(one.app.pipeline.fanIn.channels()).not.toContain(groupId);

    const a = await connect(one, alice);
    await a.subscribe(topic);
    await waitFor(async () => (await channelSubscribers(groupId)) === 2, { what: 'both instances subscribed' });

    await b.close();
    await waitFor(async () => (await channelSubscribers(groupId)) === 1, { what: 'node-2 unsubscribed after its last subscriber left' });
    expect(two.app.pipeline.fanIn.channels()).not.toContain(groupId);

    // The instance still subscribed keeps delivering.
    await a.sendWithReceipt('/app/chat.send', { roomId: groupId, content: 'still here' });
    await waitFor(() => a.received(topic).length === 1, { what: 'delivery after the other instance left' });
  });
  it('should hand every partition to the remaining instance at once when the other stops cleanly', async () => {
    const stoppedAt = Date.now();
    twoClosed = true;
    await two.close();
    for (const runner of one.app.pipeline.runners) {
      // Well inside session.timeout.ms (10 s): the stopped instance left its groups rather than vanishing.
      await waitFor(() => partitionsOf(one, runner.groupId).length === 6, { timeoutMs: 8_000, what: `${runner.groupId} all on node-1` });
    }
    const movedAfterMs = Date.now() - stoppedAt;
    expect(movedAfterMs).toBeLessThan(8_000);

    const a = await connect(one, alice);
    await a.subscribe(`/topic/room.${roomId}`);
    const receipt = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'after node-2 left' });
    await waitFor(() => a.received(`/topic/room.${roomId}`).length === 1, { what: 'delivery by node-1 alone' });
    await waitFor(
      async () => (await one.app.deps.database.sql`select 1 from messages where message_key = ${receipt['message-key']!}`).length === 1,
      {
        what: 'stored by node-1 alone',
      },
    );
  });
});
