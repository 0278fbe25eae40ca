import { execFile, spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { rawProducer } from '../helpers/kafka.js';
import { uniqueSuffix } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 16: clients, scripts and manifests written for the Spring version work unchanged. The
 * Spring guide's own STOMP.js 2.x snippet runs in Chromium in tests/e2e/spring-client.test.ts;
 * the deployment variables are proven on a real process in tests/integration/spring-environment.test.ts.
 */

/** The secret the Spring version shipped in its application.yml: 70 bytes, so jjwt signed with HS512. */
const SPRING_JWT_SECRET = 'realtime-chat-jwt-secret-key-must-be-at-least-256-bits-long-for-hs256';
const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '1000', RATE_LIMIT_MESSAGES_PER_SECOND: '1000', JWT_SECRET: SPRING_JWT_SECRET });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let carol: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  [alice, bob, carol] = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode, room.body).toBe(201);
  roomId = room.json().roomId;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function stomp(user: SignedUpUser): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  clients.push(client);
  return client;
}

const topicOf = (room: number) => `/topic/room.${room}`;
const eventsOf = (room: number) => `/topic/room.${room}.events`;

/** Sends over STOMP and waits until the message is stored; returns its id. */
async function sendStored(client: TestStompClient, body: object): Promise<number> {
  const key = (await client.sendWithReceipt('/app/chat.send', body))['message-key']!;
  return waitFor(async () => (await t.app.deps.database.sql<{ id: number }[]>`select id from messages where message_key = ${key}`)[0]?.id, {
    timeoutMs: 15_000,
    what: `message ${key} stored`,
  });
}

describe('tokens the Spring version issued', () => {
  /** What jjwt's Jwts.builder().subject(id).claim("email", …).issuedAt(…).expiration(…).signWith(key) produces. */
  function springToken(user: SignedUpUser, alg: 'HS256' | 'HS384' | 'HS512' | 'none'): string {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const signingInput = `${encode({ alg })}.${encode({ sub: String(user.userId), email: user.email, iat: now, exp: now + 86_400 })}`;
    if (alg === 'none') return `${signingInput}.`;
    const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
    return `${signingInput}.${createHmac(hash, SPRING_JWT_SECRET).update(signingInput).digest('base64url')}`;
  }

  it('should accept them over REST and STOMP when JWT_SECRET is kept, whichever HMAC jjwt chose for the key', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const token = springToken(alice, alg);
      const me = await t.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(token) });
      expect(me.statusCode, `${alg}: ${me.body}`).toBe(200);
      expect(me.json().id).toBe(alice.userId);
    }
    const client = await connectStomp(t.baseUrl, springToken(alice, 'HS512'));
    clients.push(client);
    await client.subscribe(topicOf(roomId));
  });

  it('should still refuse an unsigned one', async () => {
    expectError(await t.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(springToken(alice, 'none')) }), 401);
  });
});

describe('room events on /topic/room.{roomId}.events', () => {
  it('should deliver READ events there, with an event header and a typed body, while /topic/room.{roomId} carries chat messages only', async () => {
    const a = await stomp(alice);
    const b = await stomp(bob);
    await a.subscribe(topicOf(roomId));
    await a.subscribe(eventsOf(roomId));
    const first = await sendStored(b, { roomId, content: 'one' });
    const second = await sendStored(b, { roomId, content: 'two' });

    const accepted = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${roomId}/read`,
      headers: bearer(alice.token),
      payload: { lastReadMessageId: first },
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    await a.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageId: second });
    await waitFor(() => a.received(eventsOf(roomId)).length === 2, { timeoutMs: 15_000, what: 'two READ events' });

    for (const [index, event] of a.received(eventsOf(roomId)).entries()) {
      expect(event.headers).toMatchObject({ destination: eventsOf(roomId), event: 'READ', 'content-type': 'application/json' });
      expect(JSON.parse(event.body)).toEqual({
        type: 'READ',
        roomId,
        userId: alice.userId,
        lastReadMessageId: [first, second][index],
        unreadCount: 1 - index,
        timestamp: expect.any(Number),
      });
    }
    // Every MESSAGE on the room topic is a chat message, as a client written for the Spring version assumes.
    const room = a.received(topicOf(roomId));
    expect(room.map((message) => JSON.parse(message.body).content)).toEqual(['one', 'two']);
    expect(room.every((message) => message.headers.event === undefined && JSON.parse(message.body).messageKey)).toBe(true);
  });

  it("should refuse a non-member's SUBSCRIBE to a room's events with ERROR and a policy close, as for the room itself", async () => {
    for (const destination of [eventsOf(roomId), topicOf(roomId)]) {
      const outsider = await stomp(carol);
      await expect(outsider.subscribe(destination)).rejects.toThrow(`not a member of room ${roomId}`);
      await waitFor(() => outsider.closes.length > 0, { what: 'the close' });
      expect(outsider.closes[0]!.code).toBe(1008);
      expect(t.app.realtime.registry.subscriberCount(destination)).toBe(0);
    }
  });

  it('should subscribe the instance to the Redis events channel of a room only while someone there listens to its events', async () => {
    const { eventsFanIn, fanIn } = t.app.pipeline;
    const a = await stomp(alice);
    await a.subscribe(topicOf(roomId));
    expect(fanIn.channels()).toContain(roomId);
    expect(eventsFanIn.channels()).not.toContain(roomId);
    await a.subscribe(eventsOf(roomId));
    expect(eventsFanIn.channels()).toContain(roomId);
    await a.close();
    await waitFor(() => !eventsFanIn.channels().includes(roomId), { what: 'the events channel left' });
  });
});

describe('records the Spring version left on the topics', () => {
  it('should store and deliver its chat messages and apply its read receipts, LocalDateTime arrays and __TypeId__ headers included', async () => {
    const b = await stomp(bob);
    await b.subscribe(topicOf(roomId));
    const producer = await rawProducer();
    try {
      // As Spring Kafka's JsonSerializer wrote ChatMessageEvent and ReadReceiptEvent.
      const messageKey = randomUUID();
      await producer.send(t.app.deps.topics.messages, {
        key: String(roomId),
        value: JSON.stringify({
          messageKey,
          roomId,
          senderId: alice.userId,
          senderNickname: alice.nickname,
          content: 'left by Spring',
          type: 'TEXT',
          timestamp: [2026, 2, 8, 12, 34, 56, 123456789],
        }),
        headers: { __TypeId__: 'com.realtime.chat.event.ChatMessageEvent' },
      });
      await waitFor(() => b.bodies<{ messageKey: string }>(topicOf(roomId)).some((message) => message.messageKey === messageKey), {
        timeoutMs: 15_000,
        what: 'the message live',
      });
      const [row] = await waitFor(
        async () => {
          const rows = await t.app.deps.database.sql<
            { id: number; createdAt: string }[]
          >`select id, created_at::text as "createdAt" from messages where message_key = ${messageKey}`;
          return rows.length ? rows : undefined;
        },
        { timeoutMs: 15_000, what: 'the message stored' },
      );
      expect(new Date(row!.createdAt).toISOString()).toBe('2026-02-08T12:34:56.123Z');

      await producer.send(t.app.deps.topics.readReceipts, {
        key: String(roomId),
        value: JSON.stringify({ roomId, userId: bob.userId, lastReadMessageId: row!.id, timestamp: '2026-02-08T12:35:00.5' }),
        headers: { __TypeId__: 'com.realtime.chat.event.ReadReceiptEvent' },
      });
      await waitFor(
        async () =>
          (
            await t.app.deps.database
              .sql`select 1 from chat_room_members where room_id = ${roomId} and user_id = ${bob.userId} and last_read_message_id = ${row!.id}`
          ).length === 1,
        { timeoutMs: 15_000, what: 'the read receipt applied' },
      );
    } finally {
      await producer.close();
    }
  });
});

describe('ids as strings of decimal digits', () => {
  const oddIds: unknown[] = [
    '1e3',
    '0x1',
    ' 1',
    '1 ',
    '',
    '01',
    '+1',
    '-1',
    '0',
    '1.0',
    '9007199254740992',
    '١',
    -1,
    0,
    1.5,
    2 ** 53,
    null,
    true,
  ];

  it('should accept {"roomId":"N"} in a SEND and deliver the message with a numeric roomId', async () => {
    const a = await stomp(alice);
    await a.subscribe(topicOf(roomId));
    const content = `string id ${uniqueSuffix()}`;
    const id = await sendStored(a, { roomId: String(roomId), content });
    await waitFor(() => a.bodies<{ content: string }>(topicOf(roomId)).some((message) => message.content === content), {
      what: 'the message live',
    });
    expect(a.bodies<{ content: string; roomId: unknown }>(topicOf(roomId)).find((message) => message.content === content)!.roomId).toBe(
      roomId,
    );

    const b = await stomp(bob);
    await b.subscribe(eventsOf(roomId));
    await b.sendWithReceipt('/app/chat.read', { roomId: String(roomId), lastReadMessageId: String(id) });
    await waitFor(() => b.bodies<{ lastReadMessageId: number }>(eventsOf(roomId)).some((event) => event.lastReadMessageId === id), {
      timeoutMs: 15_000,
      what: 'the READ event',
    });
  });

  it('should refuse odd id strings and non-ids in a SEND body with a VALIDATION error naming roomId', async () => {
    const a = await stomp(alice);
    await a.subscribe('/user/queue/errors');
    for (const odd of oddIds) {
      await expect(a.sendWithReceipt('/app/chat.send', { roomId: odd, content: 'odd' }), JSON.stringify(odd)).rejects.toThrow(
        /roomId: must be a positive integer/,
      );
      expect(JSON.parse(a.received('/user/queue/errors').at(-1)!.body)).toMatchObject({ code: 'VALIDATION' });
    }
    expect(a.client.connected).toBe(true);
  });

  it('should accept {"targetUserId":"N"}, memberIds and lastReadMessageId as strings over REST', async () => {
    const dave = await signup(t.app);
    const direct = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/direct',
      headers: bearer(dave.token),
      payload: { targetUserId: String(alice.userId) },
    });
    expect(direct.statusCode, direct.body).toBe(201);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/direct',
      headers: bearer(alice.token),
      payload: { targetUserId: `${dave.userId}` },
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().roomId).toBe(direct.json().roomId);

    const group = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/group',
      headers: bearer(dave.token),
      payload: { name: 'strings', memberIds: [String(alice.userId), bob.userId] },
    });
    expect(group.statusCode, group.body).toBe(201);
    expect(
      group
        .json()
        .members.map((member: { userId: number }) => member.userId)
        .sort((x: number, y: number) => x - y),
    ).toEqual([alice.userId, bob.userId, dave.userId].sort((x, y) => x - y));

    const id = await sendStored(await stomp(alice), { roomId: direct.json().roomId, content: 'read me' });
    const read = await t.app.inject({
      method: 'POST',
      url: `/api/rooms/${direct.json().roomId}/read`,
      headers: bearer(dave.token),
      payload: { lastReadMessageId: String(id) },
    });
    expect(read.statusCode, read.body).toBe(202);
    expect(read.json()).toMatchObject({ lastReadMessageId: id });
  });

  it('should answer 400 naming the field for odd id strings and non-ids over REST', async () => {
    for (const odd of oddIds) {
      const direct = await t.app.inject({
        method: 'POST',
        url: '/api/rooms/direct',
        headers: bearer(alice.token),
        payload: { targetUserId: odd },
      });
      expect(expectError(direct, 400).message, JSON.stringify(odd)).toMatch(/targetUserId/);
      const group = await t.app.inject({
        method: 'POST',
        url: '/api/rooms/group',
        headers: bearer(alice.token),
        payload: { name: 'odd', memberIds: [odd] },
      });
      expect(expectError(group, 400).message, JSON.stringify(odd)).toMatch(/memberIds/);
      const read = await t.app.inject({
        method: 'POST',
        url: `/api/rooms/${roomId}/read`,
        headers: bearer(alice.token),
        payload: { lastReadMessageId: odd },
      });
      expect(expectError(read, 400).message, JSON.stringify(odd)).toMatch(/lastReadMessageId/);
    }
  });
});

describe('requests that offer an upgrade other than a WebSocket handshake on /ws', () => {
  /** What Java's java.net.http.HttpClient adds to its first request over plain HTTP. */
  const H2C_OFFER = { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA' };

  interface Answer {
    status: number;
    contentType: string;
    body: string;
    socket: unknown;
  }

  /** A real HTTP/1.1 request over a socket (inject would not go through Node's upgrade path). */
  function send(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string; agent?: Agent } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, t.baseUrl);
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(options.body));
      }
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent: options.agent ?? false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString(),
              socket: res.socket,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('upgrade', () => reject(new Error(`${method} ${path}: the server switched protocols`)));
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
      req.end(options.body);
    });
  }

  it("should sign up with 201 when the POST offers h2c as Java's HttpClient does", async () => {
    const email = `java_${uniqueSuffix()}@example.com`;
    const answer = await send('POST', '/api/auth/signup', {
      headers: H2C_OFFER,
      body: JSON.stringify({ email, password: 'correct horse battery', nickname: 'duke' }),
    });
    expect(answer.status, answer.body).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ email, nickname: 'duke', token: expect.stringMatching(/^ey/) });
  });

  /** Two members and their room, so that a route with side effects meets the same state twice. */
  async function freshRoom(): Promise<{ owner: SignedUpUser; other: SignedUpUser; room: number }> {
    const [owner, other] = await Promise.all([signup(t.app), signup(t.app)]);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/group',
      headers: bearer(owner.token),
      payload: { name: 'walk', memberIds: [other.userId] },
    });
    return { owner, other, room: created.json().roomId };
  }

  it('should answer every REST route of the OpenAPI document the same with and without the h2c offer', async () => {
    const paths = (t.app.swagger() as { paths: Record<string, Record<string, unknown>> }).paths;
    // Ids differ between the two fresh rooms; everything else in an answer must not.
    const sameShape = (text: string) => text.replace(/\d+/g, '#');
    const walked: string[] = [];
    for (const [template, operations] of Object.entries(paths)) {
      for (const method of Object.keys(operations).map((name) => name.toUpperCase())) {
        const answers: Answer[] = [];
        for (const offer of [{}, H2C_OFFER]) {
          const { owner, other, room } = await freshRoom();
          const path = template
            .replaceAll('{roomId}', String(room))
            .replaceAll('{userId}', String(other.userId))
            .replaceAll('{messageKey}', randomUUID())
            .replace(/\{[^}]+\}/g, '1');
          const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined;
          answers.push(await send(method, path, { headers: { ...bearer(owner.token), ...offer }, body }));
        }
        const [plain, offered] = answers as [Answer, Answer];
        const what = `${method} ${template}`;
        expect(offered.status, `${what}: ${offered.body}`).toBe(plain.status);
        expect(offered.contentType, what).toBe(plain.contentType);
        // The same validation message proves the body was read, not cut off at the headers.
        if (plain.status >= 400 && plain.contentType.startsWith('application/json')) {
          expect(sameShape(JSON.parse(offered.body).message), what).toBe(sameShape(JSON.parse(plain.body).message));
        }
        walked.push(what);
      }
    }
    expect(walked).toEqual(
      expect.arrayContaining([
        'POST /api/auth/signup',
        'POST /api/auth/login',
        'POST /api/rooms/direct',
        'POST /api/rooms/{roomId}/read',
        'GET /actuator/health',
      ]),
    );
  });

  it('should keep serving a keep-alive connection after a request that offered h2c', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send('POST', '/api/auth/login', {
        agent,
        headers: H2C_OFFER,
        body: JSON.stringify({ email: alice.email, password: 'correct horse battery' }),
      });
      expect(first.status, first.body).toBe(200);
      const second = await send('GET', '/api/users/me', { agent, headers: bearer(alice.token) });
      expect(second.status, second.body).toBe(200);
      expect(second.socket).toBe(first.socket);
    } finally {
      agent.destroy();
    }
  });

  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  it.skipIf(java.status !== 0)(
    'should sign up with 201 from a real java.net.http.HttpClient with its defaults (HTTP/2 offered, HTTP/1.1 answered)',
    async () => {
      const program = fileURLToPath(new URL('../fixtures/java/JavaSignup.java', import.meta.url));
      const email = `duke_${uniqueSuffix()}@example.com`;
      // Asynchronously: the server answering it runs in this process.
      const { stdout } = await promisify(execFile)('java', [program, `${t.baseUrl}/api/auth/signup`, email], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const [status, version, body] = stdout.split('\n');
      expect(status).toBe('201');
      expect(version).toBe('HTTP_1_1');
      expect(JSON.parse(body!)).toMatchObject({ email, nickname: 'duke' });
    },
    90_000,
  );
});
