import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { expect } from 'vitest';
import { topicSpecs, type Topics } from '../../src/kafka/topics.js';
import type { TestApp } from './test-app.js';
import { bearer, signup } from './http.js';
import { connectStomp, type TestStompClient } from './stomp.js';
import { waitFor } from './wait.js';

/**
 * What the tests of a Kafka that lost its topics share (issue 15 item 12): a room with a sender
 * and a reader, a client that keeps sending as a user would, and the check that every part of the
 * pipeline (producer, persistence, broadcast, read receipts) works again.
 */
export interface ChatProbe {
  t: TestApp;
  roomId: number;
  /** Subscribed to /user/queue/errors, so a refused SEND is an answer, not a lost connection. */
  sender: TestStompClient;
  /** Subscribed to the room and its events. */
  reader: TestStompClient;
}

const storedId = async (probe: ChatProbe, content: string) =>
  (
    await probe.t.app.deps.database.sql<{ id: number }[]>`select id from messages where room_id = ${probe.roomId} and content = ${content}`
  )[0]?.id;

/** Two members of a new room, connected, and one message stored before anything is broken. */
export async function openChatProbe(t: TestApp, clients: TestStompClient[]): Promise<ChatProbe> {
  const [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  const roomId = room.json().roomId as number;
  const sender = await connectStomp(t.baseUrl, alice.token, { reconnectDelay: 200 });
  const reader = await connectStomp(t.baseUrl, bob.token);
  clients.push(sender, reader);
  await sender.subscribe('/user/queue/errors');
  await reader.subscribe(`/topic/room.${roomId}`);
  await reader.subscribe(`/topic/room.${roomId}.events`);
  const probe = { t, roomId, sender, reader };
  await sender.sendWithReceipt('/app/chat.send', { roomId, content: 'before' });
  await waitFor(() => storedId(probe, 'before'), { timeoutMs: 15_000, what: 'the first message stored' });
  return probe;
}

/** Sends again and again until one SEND gets its RECEIPT; each is answered (RECEIPT or error) in bounded time. */
export async function sendUntilAccepted(probe: ChatProbe, timeoutMs: number): Promise<{ content: string; attempts: number }> {
  let attempts = 0;
  let accepted: string | undefined;
  await waitFor(
    async () => {
      attempts += 1;
      const content = `after ${attempts}`;
      try {
        await probe.sender.sendWithReceipt('/app/chat.send', { roomId: probe.roomId, content });
        accepted = content;
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 250, what: 'a SEND accepted again' },
  );
  return { content: accepted!, attempts };
}

/** Persistence, broadcast and read receipts work again: stored, delivered live, and read back as a READ event. */
export async function expectPipelineResumed(probe: ChatProbe, content: string): Promise<void> {
  const { reader, roomId } = probe;
  const id = await waitFor(() => storedId(probe, content), { timeoutMs: 60_000, what: `"${content}" stored` });
  await waitFor(() => reader.bodies<{ content: string }>(`/topic/room.${roomId}`).some((message) => message.content === content), {
    timeoutMs: 60_000,
    what: `"${content}" delivered live`,
  });
  await reader.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageId: id });
  await waitFor(
    () => reader.bodies<{ lastReadMessageId: number }>(`/topic/room.${roomId}.events`).some((event) => event.lastReadMessageId === id),
    {
      timeoutMs: 60_000,
      what: 'the READ event',
    },
  );
}

/** The topics exist again, each with its partition count (the broker may still be spreading their metadata). */
export async function expectTopicsBack(admin: KafkaJS.Admin, topics: Topics): Promise<void> {
  const specs = topicSpecs(topics);
  const metadata = await waitFor(() => admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.topic) }), {
    timeoutMs: 15_000,
    what: 'the topics metadata',
  });
  expect(Object.fromEntries(metadata.map((topic) => [topic.name, topic.partitions.length]))).toEqual(
    Object.fromEntries(specs.map((spec) => [spec.topic, spec.numPartitions])),
  );
}
