import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess, type ExitStatus } from '../helpers/app-process.js';
import { deleteTestTopics } from '../helpers/kafka.js';
import { numberedMessages, streamSends } from '../helpers/send-stream.js';
import { dropDatabase } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { testEnv } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The durability promise end to end: a RECEIPT means the message is in Kafka, so an instance
 * killed without warning (SIGKILL: no shutdown hook, no commit, no flush) loses none of them,
 * and the instance that takes over stores each exactly once and counts it once as unread.
 * The client then does what a client with an outbox does: reconnects and sends everything not
 * acknowledged, with the same messageKeys, so nothing is lost and nothing is doubled.
 */
const MESSAGES = 1_000;
const KILL_AFTER_RECEIPTS = 300;
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100000' });
const processes: AppProcess[] = [];
const clients: TestStompClient[] = [];
const sql = postgres(isolation.databaseUrl, { max: 2, onnotice: () => {} });

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(processes.map((app) => app.stop(15_000)));
  await sql.end({ timeout: 5 });
  await deleteTestTopics(isolation.env.KAFKA_TOPIC_PREFIX!);
  await dropDatabase(isolation.databaseUrl).catch(() => {});
});

async function start(name: string): Promise<AppProcess> {
  const app = await startAppProcess({ env: isolation.env, name });
  processes.push(app);
  return app;
}

async function api<T>(baseUrl: string, path: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function storedKeys(roomId: number): Promise<Set<string>> {
  const rows = await sql<{ message_key: string }[]>`select message_key from messages where room_id = ${roomId}`;
  return new Set(rows.map((row) => row.message_key));
}

const signup = (baseUrl: string, name: string) =>
  api<{ token: string; userId: number }>(baseUrl, '/api/auth/signup', {
    email: `${name}_${isolation.suffix}@example.com`,
    password: 'correct horse battery',
    nickname: name,
  });

describe('an instance killed mid-stream', () => {
  it('should store every RECEIPTed message exactly once across a SIGKILL and restart, and take the resent rest without doubles', async ({
    annotate,
  }) => {
    const first = await start('first');
    const alice = await signup(first.baseUrl, 'alice');
    const bob = await signup(first.baseUrl, 'bob');
    const { roomId } = await api<{ roomId: number }>(first.baseUrl, '/api/rooms/direct', { targetUserId: bob.userId }, alice.token);
    const outbox = numberedMessages(MESSAGES);

    const sender = await connectStomp(first.baseUrl, alice.token);
    clients.push(sender);
    await sender.subscribe('/user/queue/errors');
    let killed: Promise<ExitStatus> | undefined;
    let killedAt = 0;
    let receipts = 0;
    const beforeKill = await streamSends(sender, {
      roomId,
      messages: outbox,
      window: 50,
      onReceipt: () => {
        receipts += 1;
        if (receipts === KILL_AFTER_RECEIPTS) {
          killedAt = Date.now();
          killed = first.kill('SIGKILL');
        }
      },
      timeoutMs: 60_000,
    });
    expect(await killed).toEqual({ code: null, signal: 'SIGKILL' });
    expect(beforeKill.refused).toEqual([]);
    expect(beforeKill.receipted.length).toBeGreaterThanOrEqual(KILL_AFTER_RECEIPTS);
    expect(beforeKill.receipted.length).toBeLessThan(MESSAGES);

    const second = await start('second');
    const receipted = beforeKill.receipted;
    await waitFor(
      async () => {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from messages where message_key = any(${receipted}::uuid[])`;
        return row!.n === receipted.length;
      },
      // The killed member holds its partitions until its session times out (10 s).
      { timeoutMs: 45_000, intervalMs: 200, what: `all ${receipted.length} receipted messages stored` },
    );
    const caughtUpAfterMs = Date.now() - killedAt;
    const storedAfterRestart = await storedKeys(roomId);
    // Acknowledged ones all; perhaps some whose RECEIPT died with the instance; nothing never sent.
    const sentBeforeKill = new Set(beforeKill.sent);
    expect([...storedAfterRestart].filter((key) => !sentBeforeKill.has(key))).toEqual([]);

    const acknowledged = new Set(receipted);
    const resend = outbox.filter((message) => !acknowledged.has(message.messageKey));
    const client = await connectStomp(second.baseUrl, alice.token);
    clients.push(client);
    await client.subscribe('/user/queue/errors');
    const afterRestart = await streamSends(client, { roomId, messages: resend, window: 50, timeoutMs: 60_000 });
    expect(afterRestart.receipted).toHaveLength(resend.length);

    await waitFor(async () => (await storedKeys(roomId)).size === MESSAGES, {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: `${MESSAGES} stored`,
    });
    const perKey = await sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${roomId} group by message_key`;
    expect(perKey.filter((row) => row.n !== 1)).toEqual([]);
    // Redelivered batches and resent keys changed nothing: one unread per message, in send order.
    const rows = await sql<{ content: string }[]>`select content from messages where room_id = ${roomId} order by id`;
    expect(rows.map((row) => row.content)).toEqual(outbox.map((message) => message.content));
    const [unread] = await sql<{ unread_count: number }[]>`
      select unread_count from chat_room_members where room_id = ${roomId} and user_id = ${bob.userId}`;
    expect(unread!.unread_count).toBe(MESSAGES);

    await annotate(
      `before the kill: ${beforeKill.sent.length} sent, ${receipted.length} got a RECEIPT, ${beforeKill.unanswered.length} unanswered; ` +
        `after the restart: ${storedAfterRestart.size} stored (each once) ${(caughtUpAfterMs / 1000).toFixed(1)} s after the kill, ` +
        `${resend.length} resent with their keys; ` +
        `end: ${rows.length} rows, unread ${unread!.unread_count}`,
    );
  });
});
