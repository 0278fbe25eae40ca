import { execFile, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, type IFrame, type StompConfig } from '@stomp/stompjs';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, openRawStomp, wsUrl, type RawStompSocket, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '1000' });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let carol: SignedUpUser;
let roomId: number;
let topic: string;
const clients: TestStompClient[] = [];
const raws: RawStompSocket[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  [alice, bob, carol] = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
  roomId = await directRoom(alice, bob);
  topic = `/topic/room.${roomId}`;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const raw of raws.splice(0)) raw.ws.terminate();
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function directRoom(owner: SignedUpUser, other: SignedUpUser): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(owner.token),
    payload: { targetUserId: other.userId },
  });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json().roomId;
}

async function stomp(token: string | undefined, config: Partial<StompConfig> = {}) {
  const client = await connectStomp(t.baseUrl, token, config);
  clients.push(client);
  return client;
}

async function raw(options: Parameters<typeof openRawStomp>[1] = {}) {
  const socket = await openRawStomp(t.baseUrl, options);
  raws.push(socket);
  return socket;
}

const frameText = (command: string, headers: Record<string, string>, body = '') =>
  `${command}\n${Object.entries(headers)
    .map(([name, value]) => `${name}:${value}\n`)
    .join('')}\n${body}\0`;

const connectText = (token: string, headers: Record<string, string> = {}) =>
  frameText('CONNECT', { 'accept-version': '1.2', host: 'chat', Authorization: `Bearer ${token}`, ...headers });

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function handMadeToken(payload: object, alg = 'HS256'): string {
  const head = b64({ alg, typ: 'JWT' });
  const body = b64(payload);
  if (alg === 'none') return `${head}.${body}.`;
  return `${head}.${body}.${createHmac('sha256', TEST_JWT_SECRET).update(`${head}.${body}`).digest('base64url')}`;
}

/** Activates a real STOMP.js client that is expected to be refused; returns the ERROR and the close. */
async function refusedConnect(connectHeaders: Record<string, string>) {
  let error: IFrame | undefined;
  let closed: { code: number; reason: string } | undefined;
  let connected = false;
  const client = new Client({
    webSocketFactory: () => new WebSocket(wsUrl(t.baseUrl), ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    connectHeaders,
    reconnectDelay: 0,
    onConnect: () => {
      connected = true;
    },
    onStompError: (frame) => {
      error = frame;
    },
    onWebSocketClose: (event) => {
      closed = { code: event.code, reason: event.reason };
    },
  });
  client.activate();
  try {
    await waitFor(() => closed, { what: 'the refused connection to close' });
  } finally {
    await client.deactivate();
  }
  expect(connected).toBe(false);
  expect(error, 'an ERROR frame before the close').toBeDefined();
  return { message: error!.headers.message, body: error!.body, close: closed! };
}

/** Subscribes through a real client and expects the server to refuse it with ERROR and a close. */
async function expectFatalAfter(client: TestStompClient, act: () => void, message: string | RegExp) {
  const errorsBefore = client.errors.length;
  act();
  await waitFor(() => client.errors.length > errorsBefore && client.closes.length > 0, { what: `ERROR ${message} and a close` });
  expect(client.errors.at(-1)).toMatch(message);
}

async function topicRecordCount(): Promise<number> {
  const offsets = await t.app.deps.kafkaAdmin.fetchTopicOffsets(t.app.deps.topics.messages);
  return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
}

describe('STOMP /ws: connecting', () => {
  it('should connect with Authorization: Bearer and answer CONNECTED with version, heart-beat, server, session and user-name', async () => {
    let connectedFrame: IFrame | undefined;
    const client = await stomp(alice.token, {
      onConnect: (frame) => {
        connectedFrame = frame;
      },
    });
    await waitFor(() => connectedFrame);
    expect(client.client.connectedVersion).toBe('1.2');
    expect(connectedFrame!.headers).toMatchObject({
      version: '1.2',
      'heart-beat': '10000,10000',
      server: expect.stringMatching(/^chat-backend\//),
      session: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'user-name': String(alice.userId),
    });
  });

  it.each([
    ['a lower-case authorization header', () => ({ authorization: `Bearer ${alice.token}` })],
    ['a passcode header', () => ({ login: alice.email, passcode: alice.token })],
  ])('should connect with the token in %s', async (_label, headers) => {
    await stomp(undefined, { connectHeaders: headers() });
  });

  it('should connect with the token in the access_token query parameter', async () => {
    const client = await stomp(undefined, {
      webSocketFactory: () => new WebSocket(`${wsUrl(t.baseUrl)}?access_token=${encodeURIComponent(alice.token)}`, ['v12.stomp']),
      connectHeaders: {},
    });
    await client.subscribe(topic);
  });

  it.each([
    [['v12.stomp', 'v11.stomp', 'v10.stomp'], 'v12.stomp'],
    [['v10.stomp', 'v11.stomp'], 'v11.stomp'],
    [['v10.stomp'], 'v10.stomp'],
    [[], ''],
  ])('should answer the WebSocket subprotocols %j with %j', async (protocols, chosen) => {
    const socket = await raw({ protocols });
    expect(socket.protocol).toBe(chosen);
    socket.send(connectText(alice.token));
    expect((await socket.frame('CONNECTED')).headers).toContainEqual(['version', '1.2']);
  });

  it('should give a legacy client that accepts 1.1,1.0 version 1.1', async () => {
    const socket = await raw({ protocols: ['v11.stomp', 'v10.stomp'] });
    socket.send(connectText(alice.token, { 'accept-version': '1.1,1.0', 'heart-beat': '10000,10000' }));
    const connected = await socket.frame('CONNECTED');
    expect(connected.headers).toContainEqual(['version', '1.1']);
    expect(connected.headers).toContainEqual(['heart-beat', '10000,10000']);
  });
});

describe('STOMP /ws: subscriptions, delivery and receipts', () => {
  it('should deliver a MESSAGE from the registry to a subscriber with the documented headers', async () => {
    const client = await stomp(alice.token);
    await client.subscribe(topic);
    const payload = { messageKey: 'k', roomId, content: 'from the registry' };
    expect(t.app.realtime.deliverRoomMessage(roomId, Buffer.from(JSON.stringify(payload)))).toBe(1);

    await waitFor(() => client.received(topic).length === 1);
    const message = client.received(topic)[0]!;
    expect(message.headers).toMatchObject({
      destination: topic,
      subscription: expect.any(String),
      'message-id': expect.any(String),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(JSON.stringify(payload))),
    });
    expect(JSON.parse(message.body)).toEqual(payload);
  });

  it('should answer SEND with a RECEIPT carrying the message key once Kafka has it, and deliver it through the pipeline', async () => {
    const a = await stomp(alice.token);
    const b = await stomp(bob.token);
    await b.subscribe(topic);
    const before = await topicRecordCount();

    const receipt = await a.sendWithReceipt('/app/chat.send', { roomId, content: 'durable hello' });
    expect(receipt['message-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await topicRecordCount()).toBe(before + 1);
    await waitFor(() => b.bodies<{ messageKey: string }>(topic).some((body) => body.messageKey === receipt['message-key']), {
      what: 'pipeline delivery',
    });
  });

  it('should answer UNSUBSCRIBE, ACK and NACK with RECEIPTs and stop delivering after UNSUBSCRIBE', async () => {
    const client = await stomp(alice.token);
    const receipts: string[] = [];
    const watch = (id: string) => client.client.watchForReceipt(id, () => receipts.push(id));
    const subscription = client.client.subscribe(topic, () => {}, { id: 'room-sub', receipt: 'sub-r' });
    watch('sub-r');
    await waitFor(() => receipts.includes('sub-r'));
    expect(t.app.realtime.registry.subscriberCount(topic)).toBeGreaterThanOrEqual(1);

    watch('ack-r');
    client.client.ack('message-1', 'room-sub', { receipt: 'ack-r' });
    watch('nack-r');
    client.client.nack('message-2', 'room-sub', { receipt: 'nack-r' });
    watch('unsub-r');
    subscription.unsubscribe({ receipt: 'unsub-r' });
    await waitFor(() => receipts.length === 4, { what: 'four receipts' });
    expect(receipts).toEqual(['sub-r', 'ack-r', 'nack-r', 'unsub-r']);
    expect(t.app.realtime.registry.subscriberCount(topic)).toBe(0);
  });

  it('should answer DISCONNECT with its RECEIPT before closing the connection', async () => {
    const client = await stomp(alice.token);
    let disconnectReceipt: IFrame | undefined;
    client.client.onDisconnect = (frame) => {
      disconnectReceipt = frame;
    };
    await client.subscribe('/topic/presence');
    await client.close();
    expect(disconnectReceipt?.command).toBe('RECEIPT');
    expect(disconnectReceipt?.headers['receipt-id']).toMatch(/^close-/);
    await waitFor(() => t.app.realtime.registry.subscriberCount('/topic/presence') === 0, { what: 'registry cleared' });
  });

  it('should receive again after the same STOMP.js client deactivates and activates, resubscribing in onConnect', async () => {
    const received: string[] = [];
    let connects = 0;
    let subscribed = 0;
    const client = new Client({
      webSocketFactory: () => new WebSocket(wsUrl(t.baseUrl), ['v12.stomp']),
      connectHeaders: { Authorization: `Bearer ${alice.token}` },
      reconnectDelay: 0,
      // What applications do: subscriptions are made again on every (re)connect.
      onConnect: () => {
        connects += 1;
        const receipt = `resubscribe-${connects}`;
        client.watchForReceipt(receipt, () => {
          subscribed += 1;
        });
        client.subscribe(topic, (message) => received.push(message.body), { receipt });
      },
    });
    try {
      client.activate();
      await waitFor(() => subscribed === 1, { what: 'first subscription' });
      t.app.realtime.deliverRoomMessage(roomId, Buffer.from('{"n":1}'));
      await waitFor(() => received.length === 1);

      await client.deactivate();
      await waitFor(() => t.app.realtime.registry.subscriberCount(topic) === 0, { what: 'old session released' });
      client.activate();
      await waitFor(() => subscribed === 2, { what: 'resubscribed after reconnect' });
      t.app.realtime.deliverRoomMessage(roomId, Buffer.from('{"n":2}'));
      await waitFor(() => received.length === 2);
      expect(received).toEqual(['{"n":1}', '{"n":2}']);
      expect(connects).toBe(2);
    } finally {
      await client.deactivate();
    }
  });
});

describe('STOMP /ws: heart-beats', () => {
  it('should honour heart-beat 1000,1000 from STOMP.js: CONNECTED says 1000,1000 and the server beats', async () => {
    let pongs = 0;
    let connectedFrame: IFrame | undefined;
    const client = await stomp(alice.token, {
      heartbeatIncoming: 1000,
      heartbeatOutgoing: 1000,
      onConnect: (frame) => {
        connectedFrame = frame;
      },
      debug: (line) => {
        if (line === '<<< PONG') pongs += 1;
      },
    });
    expect(connectedFrame?.headers['heart-beat']).toBe('1000,1000');
    const started = Date.now();
    await waitFor(() => pongs >= 2, { timeoutMs: 4000, what: 'two server heart-beats' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(client.closes).toEqual([]);
    expect(client.client.connected).toBe(true);
  });

  it('should drop a client that goes silent within about twice its heart-beat interval', async () => {
    const socket = await raw();
    socket.send(connectText(alice.token, { 'heart-beat': '1000,1000' }));
    const connected = await socket.frame('CONNECTED');
    expect(connected.headers).toContainEqual(['heart-beat', '1000,1000']);
    const silentSince = Date.now();

    const closed = await socket.waitForClose(5000);
    const silentForMs = Date.now() - silentSince;
    expect(closed.code).toBe(4000);
    expect(closed.reason).toBe('heart-beat timeout');
    expect(silentForMs).toBeGreaterThanOrEqual(1900);
    expect(silentForMs).toBeLessThan(3000);
    expect(socket.heartbeats).toBeGreaterThanOrEqual(1);
  });
});

describe('STOMP /ws: refused connections', () => {
  it('should refuse a CONNECT without a token with ERROR and a policy close', async () => {
    const refused = await refusedConnect({});
    expect(refused.message).toBe('authentication required');
    expect(refused.body).toContain('Authorization: Bearer');
    expect(refused.close.code).toBe(1008);
  });

  it.each([
    ['a malformed token', () => 'not-a-jwt', 'Invalid token'],
    ['a token signed with another secret', () => `${alice.token.slice(0, -4)}AAAA`, 'Invalid token'],
    [
      'an expired token',
      () => handMadeToken({ sub: String(alice.userId), email: alice.email, iat: 1_600_000_000, exp: 1_600_000_600 }),
      'Token expired',
    ],
    [
      'an alg:none token',
      () => handMadeToken({ sub: String(alice.userId), email: alice.email, iat: Math.floor(Date.now() / 1000) }, 'none'),
      'Invalid token',
    ],
  ])('should refuse %s with ERROR and a policy close', async (_label, token, message) => {
    const refused = await refusedConnect({ Authorization: `Bearer ${token()}` });
    expect(refused.message).toBe(message);
    expect(refused.close.code).toBe(1008);
  });

  it('should refuse the valid token of a deleted user', async () => {
    const ghost = await signup(t.app);
    await t.app.deps.database.sql`delete from users where id = ${ghost.userId}`;
    const refused = await refusedConnect({ Authorization: `Bearer ${ghost.token}` });
    expect(refused.message).toBe('User no longer exists');
    expect(refused.close.code).toBe(1008);
  });

  it('should refuse a frame before CONNECT with ERROR and close', async () => {
    const socket = await raw();
    socket.send(frameText('SUBSCRIBE', { id: 'sub-0', destination: topic, receipt: 'r-1' }));
    const error = await socket.frame('ERROR');
    expect(error.headers).toContainEqual(['message', 'not connected']);
    expect(error.headers).toContainEqual(['receipt-id', 'r-1']);
    expect((await socket.waitForClose()).code).toBe(1002);
    expect(socket.frames.map((frame) => frame.command)).toEqual(['ERROR']);
  });

  it('should refuse a frame over 64 KiB with ERROR naming the limit and close', async () => {
    const socket = await raw();
    socket.send(connectText(alice.token));
    await socket.frame('CONNECTED');
    socket.send(frameText('SEND', { destination: '/app/chat.send' }, 'x'.repeat(65 * 1024)));
    const error = await socket.frame('ERROR');
    expect(error.headers).toContainEqual(['message', 'frame exceeds the 65536-byte frame limit']);
    expect((await socket.waitForClose()).code).toBe(1002);
  });

  it('should refuse a frame over 64 KiB split across several WebSocket messages', async () => {
    const socket = await raw();
    socket.send(connectText(alice.token));
    await socket.frame('CONNECTED');
    socket.send('SEND\ndestination:/app/chat.send\n\n');
    for (let part = 0; part < 5 && !socket.closed; part += 1) socket.send('y'.repeat(16 * 1024));
    expect((await socket.frame('ERROR')).headers).toContainEqual(['message', 'frame exceeds the 65536-byte frame limit']);
    expect((await socket.waitForClose()).code).toBe(1002);
  });

  it('should survive a protocol error whose quoted client bytes would overflow a WebSocket close reason', async () => {
    const socket = await raw();
    socket.send(connectText(alice.token));
    await socket.frame('CONNECTED');
    socket.send(`SEND\ndestination:/app/chat.send\ncontent-length:${'字'.repeat(40)}\n\n\0`);
    const error = await socket.frame('ERROR');
    expect(error.headers.find(([name]) => name === 'message')?.[1]).toMatch(/^content-length "字+…" is not an octet count$/);
    const closed = await socket.waitForClose();
    expect(closed.code).toBe(1002);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    await stomp(alice.token);
  });

  it('should cut a single WebSocket message over twice the frame limit at the transport with 1009', async () => {
    const socket = await raw();
    socket.send(connectText(alice.token));
    await socket.frame('CONNECTED');
    socket.send(Buffer.alloc(200 * 1024, 0x41), { binary: true });
    expect((await socket.waitForClose()).code).toBe(1009);
  });
});

describe('STOMP /ws: refused frames after CONNECT', () => {
  it('should refuse a SUBSCRIBE to a room the user is not a member of with ERROR and a policy close', async () => {
    const client = await stomp(carol.token);
    await expect(client.subscribe(topic)).rejects.toThrow(`not a member of room ${roomId}`);
    await waitFor(() => client.closes.length > 0);
    expect(client.closes[0]!.code).toBe(1008);
    expect(t.app.realtime.registry.subscriberCount(topic)).toBe(0);
  });

  it.each([
    ['SUBSCRIBE', '/topic/everything'],
    ['SEND', '/app/chat.delete'],
    ['SEND', '/topic/room.1'],
  ])('should refuse %s to the unknown destination %s with ERROR and close', async (command, destination) => {
    const client = await stomp(alice.token);
    await expectFatalAfter(
      client,
      () => (command === 'SEND' ? client.client.publish({ destination, body: '{}' }) : client.client.subscribe(destination, () => {})),
      'unknown destination',
    );
  });

  it('should refuse an invalid SEND body on /user/queue/errors and keep the connection', async () => {
    const client = await stomp(alice.token);
    await client.subscribe('/user/queue/errors');
    await expect(client.sendWithReceipt('/app/chat.send', { roomId, content: '   ' })).rejects.toThrow(/content: must not be empty/);
    await expect(client.sendWithReceipt('/app/chat.send', 'not json')).rejects.toThrow(/body must be JSON/);
    await expect(client.sendWithReceipt('/app/chat.send', { roomId, content: 'x'.repeat(4001) })).rejects.toThrow(/at most 4000/);
    const report = JSON.parse(client.received('/user/queue/errors')[0]!.body);
    expect(report).toEqual({
      code: 'VALIDATION',
      message: expect.stringContaining('content'),
      destination: '/app/chat.send',
      receiptId: expect.any(String),
    });
    expect(client.client.connected).toBe(true);
    expect(client.closes).toEqual([]);
  });

  it('should refuse an invalid SEND body with ERROR and close when the client has no error queue', async () => {
    const client = await stomp(alice.token);
    await expect(client.sendWithReceipt('/app/chat.send', { roomId })).rejects.toThrow(/content/);
    await waitFor(() => client.closes.length > 0);
  });

  it('should refuse a SEND to a room the user is not in, on /user/queue/errors or else with ERROR', async () => {
    const tolerant = await stomp(carol.token);
    await tolerant.subscribe('/user/queue/errors');
    await expect(tolerant.sendWithReceipt('/app/chat.send', { roomId, content: 'let me in' })).rejects.toThrow(
      `not a member of room ${roomId}`,
    );
    expect(JSON.parse(tolerant.received('/user/queue/errors')[0]!.body)).toMatchObject({ code: 'FORBIDDEN' });
    expect(tolerant.client.connected).toBe(true);

    const strict = await stomp(carol.token);
    await expect(strict.sendWithReceipt('/app/chat.send', { roomId, content: 'let me in' })).rejects.toThrow(
      `not a member of room ${roomId}`,
    );
    await waitFor(() => strict.closes.length > 0);
  });
});

describe('STOMP /ws: rate limit', () => {
  async function burst(client: TestStompClient, room: number, label: string) {
    const receipts: string[] = [];
    for (let n = 1; n <= 11; n += 1) {
      const id = `${label}-${n}`;
      client.client.watchForReceipt(id, () => receipts.push(id));
      client.client.publish({
        destination: '/app/chat.send',
        body: JSON.stringify({ roomId: room, content: `${label} ${n}` }),
        headers: { receipt: id },
      });
    }
    return receipts;
  }

  async function persistedContents(room: number): Promise<string[]> {
    const rows = await t.app.deps.database.sql<{ content: string }[]>`select content from messages where room_id = ${room} order by id`;
    return rows.map((row) => row.content);
  }

  it('should refuse the 11th SEND inside one second on /user/queue/errors, and never let it reach Kafka or the database', async () => {
    const dave = await signup(t.app);
    const room = await directRoom(dave, alice);
    const client = await stomp(dave.token);
    await client.subscribe('/user/queue/errors');
    const before = await topicRecordCount();
    const started = Date.now();

    const receipts = await burst(client, room, 'queued');
    await waitFor(() => receipts.length === 10 && client.received('/user/queue/errors').length === 1, {
      what: '10 receipts and 1 refusal',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    const refusal = client.received('/user/queue/errors')[0]!;
    expect(refusal.headers['receipt-id']).toBe('queued-11');
    expect(JSON.parse(refusal.body)).toEqual({
      code: 'RATE_LIMITED',
      message: 'rate limit exceeded: too many messages per second',
      destination: '/app/chat.send',
      receiptId: 'queued-11',
      retryAfterSeconds: 1,
    });
    expect(receipts).not.toContain('queued-11');
    expect(client.client.connected).toBe(true);

    await waitFor(async () => (await persistedContents(room)).length === 10, { what: '10 rows' });
    expect(await persistedContents(room)).toEqual(Array.from({ length: 10 }, (_, index) => `queued ${index + 1}`));
    expect(await topicRecordCount()).toBe(before + 10);
  });

  it('should refuse the 11th SEND inside one second with ERROR and close when the client has no error queue', async () => {
    const erin = await signup(t.app);
    const room = await directRoom(erin, alice);
    const client = await stomp(erin.token);

    const receipts = await burst(client, room, 'fatal');
    await waitFor(() => client.errors.length === 1 && client.closes.length === 1, { what: 'ERROR and close' });
    expect(client.errors[0]).toBe('rate limit exceeded: too many messages per second');
    // The ten accepted before the refusal were answered before the ERROR.
    expect(receipts).toEqual(Array.from({ length: 10 }, (_, index) => `fatal-${index + 1}`));
    await waitFor(async () => (await persistedContents(room)).length === 10, { what: '10 rows' });
    expect(await persistedContents(room)).not.toContain('fatal 11');
  });
});

describe('docs/stomp.md', () => {
  it('should get a token and a room with its curl commands, and its STOMP.js example should send, get the RECEIPT and receive', async () => {
    const docs = await readFile(join(process.cwd(), 'docs/stomp.md'), 'utf8');
    const shell = /Get a token[\s\S]*?```sh\n([\s\S]*?)```/.exec(docs)?.[1];
    const snippet = /<!-- stompjs-snippet[^>]*-->\s*```js\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(shell, 'the sh block').toBeDefined();
    expect(snippet, 'the js block').toBeDefined();

    const { stdout } = await promisify(execFile)(
      'bash',
      ['-ec', `${shell!.replaceAll('http://localhost:8080', t.baseUrl)}\necho "$TOKEN $ROOM"`],
      { timeout: 20_000 },
    );
    const [token, room] = stdout.trim().split(' ');
    expect(token).toMatch(/^ey/);
    expect(room).toMatch(/^\d+$/);

    // Inside the project, so the example resolves @stomp/stompjs and ws as it would for a reader.
    const folder = await mkdtemp(join(process.cwd(), 'node_modules', '.cache-stomp-doc-'));
    const output: string[] = [];
    const child = spawn(process.execPath, [join(folder, 'stomp-example.mjs')], {
      env: { ...process.env, CHAT_WS_URL: wsUrl(t.baseUrl), CHAT_TOKEN: token, CHAT_ROOM_ID: room },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await writeFile(join(folder, 'stomp-example.mjs'), snippet!);
      child.stdout.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean)));
      child.stderr.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean)));
      await waitFor(
        () =>
          output.some((line) => line.startsWith('alice: Hello from STOMP.js')) &&
          output.some((line) => /^stored: [0-9a-f-]{36}$/.test(line)),
        {
          timeoutMs: 20_000,
          what: `the example's output (so far: ${output.join(' | ')})`,
        },
      );
      expect(output.filter((line) => /refused|ERROR/.test(line))).toEqual([]);
    } finally {
      child.kill();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
