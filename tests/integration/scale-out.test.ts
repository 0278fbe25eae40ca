import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { StompConfig } from '@stomp/stompjs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import { findNginx } from '../../scripts/lib/binaries.mjs';
import { freePort } from '../../scripts/lib/ports.mjs';
import { startNginx, type RunningNginx } from '../../scripts/scale-out.js';
import { startAppProcess, type AppProcess } from '../helpers/app-process.js';
import { numberedMessages, streamSends } from '../helpers/send-stream.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { testEnv } from '../helpers/test-app.js';
import { dropDatabase } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The Compose topology without Docker: two app processes (same database, topics and consumer
 * groups) behind a real nginx running deploy/nginx/chat-proxy.conf, and STOMP.js clients that
 * only know the nginx address.
 */
const nginxBinary = findNginx();
if (!nginxBinary) console.warn('scale-out tests skipped: nginx is not installed (Debian: apt-get install -y nginx-light)');
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100000', SHUTDOWN_TIMEOUT_MS: '15000' });
const apps: AppProcess[] = [];
let nginx: RunningNginx | undefined;
let prefixDir: string | undefined;
let proxyUrl: string;
const clients: TestStompClient[] = [];
const sql = postgres(isolation.databaseUrl, { max: 2, onnotice: () => {} });
let alice: { token: string; userId: number };
let bob: { token: string; userId: number };
let roomId: number;

interface Info {
  instanceId: string;
  websocket: { open: number; connected: number };
  kafka: { consumers: { group: string; topic: string; partitions: number[] }[] };
}

async function api<T>(base: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as T };
}

const info = async (app: AppProcess) => (await api<Info>(app.baseUrl, 'GET', '/actuator/info', undefined, alice.token)).json;
const chatGroups = (app: Info) => app.kafka.consumers.filter((consumer) => /chat-(persistence|broadcast)$/.test(consumer.group));

/** The instance (index into `apps`) that holds the one new WebSocket, found by asking both. */
async function instanceOfNewConnection(before: number[]): Promise<number> {
  return waitFor(
    async () => {
      const now = await Promise.all(apps.map(async (app) => (await info(app)).websocket.open));
      const grown = now.flatMap((open, index) => (open > before[index]! ? [index] : []));
      return grown.length === 1 ? grown[0]! + 1 : undefined;
    },
    { what: 'the instance behind the new connection' },
  ).then((oneBased) => oneBased - 1);
}

async function connectThroughProxy(
  token: string,
  config: Partial<StompConfig> = {},
): Promise<{ client: TestStompClient; instance: number }> {
  const before = await Promise.all(apps.map(async (app) => (await info(app)).websocket.open));
  const client = await connectStomp(proxyUrl, token, config);
  clients.push(client);
  return { client, instance: await instanceOfNewConnection(before) };
}

beforeAll(async () => {
  if (!nginxBinary) return;
  // One instance first, so migrations and topic creation are done once; the second joins after.
  apps.push(await startAppProcess({ env: { ...isolation.env, INSTANCE_ID: 'scale-1' }, name: 'scale-1' }));
  apps.push(await startAppProcess({ env: { ...isolation.env, INSTANCE_ID: 'scale-2' }, name: 'scale-2' }));
  prefixDir = mkdtempSync(join(tmpdir(), 'chat-nginx-'));
  const port = await freePort();
  nginx = await startNginx({ port, upstreams: [`127.0.0.1:${apps[0]!.port}`, `127.0.0.1:${apps[1]!.port}`], prefixDir, quiet: true });
  proxyUrl = `http://127.0.0.1:${port}`;

  const signupBody = (name: string) => ({
    email: `${name}_${isolation.suffix}@example.com`,
    password: 'correct horse battery',
    nickname: name,
  });
  alice = (await api<{ token: string; userId: number }>(proxyUrl, 'POST', '/api/auth/signup', signupBody('alice'))).json;
  bob = (await api<{ token: string; userId: number }>(proxyUrl, 'POST', '/api/auth/signup', signupBody('bob'))).json;
  const room = await api<{ roomId: number }>(proxyUrl, 'POST', '/api/rooms/direct', { targetUserId: bob.userId }, alice.token);
  expect(room.status).toBe(201);
  roomId = room.json.roomId;
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await nginx?.stop();
  await Promise.all(apps.map((app) => app.kill('SIGKILL').catch(() => {})));
  if (prefixDir) rmSync(prefixDir, { recursive: true, force: true });
  await sql.end({ timeout: 5 });
  // The apps were other processes, so their database and topics are removed from here.
  await dropDatabase(isolation.databaseUrl).catch(() => {});
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: isolation.env.KAFKA_BROKERS!.split(','), logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  await admin
    .deleteTopics({ topics: topicSpecs(topicNames(isolation.env.KAFKA_TOPIC_PREFIX!)).map((spec) => spec.topic), timeout: 5_000 })
    .catch(() => {});
  await admin.disconnect();
});

describe.skipIf(!nginxBinary)('two instances behind nginx', () => {
  it('should split both consumer groups between the two instances', async () => {
    const split = await waitFor(
      async () => {
        const views = await Promise.all(apps.map(info));
        const groups = views.map(chatGroups);
        const ok = [0, 1].every((g) => {
          const owned = groups.map((consumers) => consumers[g]?.partitions ?? []);
          return owned.every((partitions) => partitions.length > 0) && [...owned[0]!, ...owned[1]!].sort().join() === '0,1,2,3,4,5';
        });
        return ok ? groups : undefined;
      },
      { what: 'both groups split across both instances', timeoutMs: 30_000 },
    );
    console.info(
      `scale-out: partitions ${split.map((consumers, index) => `${apps[index]!.name} ${consumers.map((c) => `${c.group.split('.').pop()}=[${c.partitions}]`).join(' ')}`).join('; ')}`,
    );
  });

  it('should deliver a message sent through one instance to a subscriber connected through nginx to the other', async () => {
    const sender = await connectThroughProxy(alice.token);
    let receiver = await connectThroughProxy(bob.token);
    // Round robin usually alternates; REST calls in between can make two land together.
    for (let attempt = 0; receiver.instance === sender.instance && attempt < 4; attempt += 1) {
      await receiver.client.close();
      receiver = await connectThroughProxy(bob.token);
    }
    expect(receiver.instance).not.toBe(sender.instance);
    const topic = `/topic/room.${roomId}`;
    await receiver.client.subscribe(topic);
    const receipt = await sender.client.sendWithReceipt('/app/chat.send', { roomId, content: 'across instances' });
    await waitFor(() => receiver.client.received(topic).length === 1, { what: 'cross-instance delivery' });
    expect(JSON.parse(receiver.client.received(topic)[0]!.body)).toMatchObject({
      messageKey: receipt['message-key'],
      content: 'across instances',
      senderId: alice.userId,
    });
    await Promise.all([sender.client.close(), receiver.client.close()]);
  });

  it('should move clients and partitions to the other instance on SIGTERM without losing an acknowledged message', async () => {
    const topic = `/topic/room.${roomId}`;
    // STOMP.js reconnects by itself when given a delay; the app's onConnect is where it resubscribes.
    const { client: sender, instance: victimIndex } = await connectThroughProxy(alice.token, { reconnectDelay: 200 });
    const survivorIndex = 1 - victimIndex;
    const victim = apps[victimIndex]!;
    const survivor = apps[survivorIndex]!;
    // The receiver stays up on the survivor the whole time.
    let receiver = await connectThroughProxy(bob.token);
    for (let attempt = 0; receiver.instance !== survivorIndex && attempt < 4; attempt += 1) {
      await receiver.client.close();
      receiver = await connectThroughProxy(bob.token);
    }
    expect(receiver.instance).toBe(survivorIndex);
    await receiver.client.subscribe(topic);
    await sender.subscribe('/user/queue/errors');

    let reconnects = 0;
    const firstConnect = sender.client.onConnect;
    sender.client.onConnect = (frame) => {
      reconnects += 1;
      firstConnect(frame);
    };

    const messages = numberedMessages(5_000);
    let receipts = 0;
    let signalledAt = 0;
    const result = await streamSends(sender, {
      roomId,
      messages,
      window: 10,
      timeoutMs: 45_000,
      onReceipt: () => {
        receipts += 1;
        if (receipts < 50 || signalledAt) return;
        signalledAt = Date.now();
        victim.kill('SIGTERM').catch(() => {});
      },
    });
    const status = await victim.exited;
    const exitedAt = Date.now();
    expect(status).toEqual({ code: 0, signal: null });
    expect(sender.closes.map((close) => close.code)).toContain(1001);

    // The client came back through nginx, necessarily on the survivor.
    await waitFor(() => reconnects > 0 && sender.client.connected, { what: 'STOMP.js reconnect through nginx', timeoutMs: 15_000 });
    const reconnectMs = Date.now() - exitedAt;
    await waitFor(async () => (await info(survivor)).websocket.connected === 2, { what: 'both clients on the survivor' });
    await sender.subscribe('/user/queue/errors');

    // The survivor owns every partition of both groups.
    await waitFor(async () => chatGroups(await info(survivor)).every((consumer) => consumer.partitions.length === 6), {
      what: 'all partitions on the survivor',
      timeoutMs: 10_000,
    });
    const handoverMs = Date.now() - exitedAt;

    // What got no answer is resent with its own messageKey, as a client with an outbox does.
    const bodyOf = new Map(messages.map((message) => [message.messageKey, message.content]));
    const unacknowledged = [...result.unanswered, ...result.refused];
    for (const key of unacknowledged) await sender.sendWithReceipt('/app/chat.send', { roomId, content: bodyOf.get(key), messageKey: key });

    const expected = new Set([...result.receipted, ...unacknowledged]);
    expect(result.receipted.length).toBeGreaterThanOrEqual(50);
    const rows = await waitFor(
      async () => {
        const found = await sql<
          { message_key: string }[]
        >`select message_key from messages where room_id = ${roomId} and content like 'seq-%'`;
        return found.length >= expected.size ? found : undefined;
      },
      { what: `${expected.size} stored messages`, timeoutMs: 20_000 },
    );
    const stored = rows.map((row) => row.message_key);
    expect(new Set(stored).size).toBe(stored.length);
    expect(new Set(stored)).toEqual(expected);

    // The subscriber on the survivor saw every acknowledged message (at least once).
    await waitFor(
      () => {
        const seen = new Set(receiver.client.bodies<{ messageKey: string }>(topic).map((body) => body.messageKey));
        return [...expected].every((key) => seen.has(key));
      },
      { what: 'every acknowledged message delivered to the subscriber on the survivor', timeoutMs: 20_000 },
    );

    console.info(
      `scale-out failover: ${result.receipted.length} RECEIPTed before the close, ${unacknowledged.length} resent; ` +
        `${victim.name} exited ${exitedAt - signalledAt} ms after SIGTERM; client back through nginx ${reconnectMs} ms after the exit; ` +
        `all 6 partitions of both groups on ${survivor.name} ${handoverMs} ms after the exit`,
    );
  });
});
