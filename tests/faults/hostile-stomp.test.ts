import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerLog, handMadeToken, headerOf, openTcpStomp } from '../helpers/fault-hostile.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, openRawStomp, type RawStompSocket, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Hostile STOMP input against one instance on the shared services, each with the answer the
 * server owes it and a check that a bystander (connected throughout) is still served afterwards:
 * a frame before CONNECT, frames over every limit, 10,000 SUBSCRIBEs on one session, a reader that
 * never reads, half a frame that stalls, a CONNECT flood from one address, and every kind of bad
 * credential or foreign room. The answers go to test-results/faults/hostile-stomp.json.
 */
const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '10000', RATE_LIMIT_MESSAGES_PER_SECOND: '100000' });
const log = new AnswerLog('hostile-stomp');
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let carol: SignedUpUser;
let roomId: number;
let topic: string;
let bystander: TestStompClient;
let bystanderProbes = 0;

beforeAll(async () => {
  t = await startTestApp(isolation);
  [alice, bob, carol] = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(alice.token),
    payload: { name: 'busy', memberIds: [bob.userId] },
  });
  roomId = room.json().roomId;
  topic = `/topic/room.${roomId}`;
  bystander = await connectStomp(t.baseUrl, bob.token);
  await bystander.subscribe(topic);
  await bystander.subscribe('/user/queue/errors');
});
afterAll(async () => {
  log.write();
  await bystander?.close();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

/** The bystander sends a message and receives it back: the service still serves others. */
async function expectStillServing(client = bystander, room = roomId): Promise<number> {
  bystanderProbes += 1;
  const started = performance.now();
  const receipt = await client.sendWithReceipt('/app/chat.send', { roomId: room, content: `still here ${bystanderProbes}` });
  await waitFor(
    () => client.bodies<{ messageKey: string }>(`/topic/room.${room}`).some((body) => body.messageKey === receipt['message-key']),
    {
      timeoutMs: 10_000,
      what: 'the bystander to receive its own message',
    },
  );
  return performance.now() - started;
}

const frameText = (command: string, headers: Record<string, string>, body = '') =>
  `${command}\n${Object.entries(headers)
    .map(([name, value]) => `${name}:${value}\n`)
    .join('')}\n${body}\0`;
const connectText = (token: string, heartbeat = '0,0') =>
  frameText('CONNECT', { 'accept-version': '1.2', host: 'chat', 'heart-beat': heartbeat, Authorization: `Bearer ${token}` });

async function connectedRaw(token = alice.token, baseUrl = t.baseUrl): Promise<RawStompSocket> {
  const socket = await openRawStomp(baseUrl);
  socket.send(connectText(token));
  await socket.frame('CONNECTED');
  return socket;
}

/** The ERROR a socket got before the server closed it, as "message (close code)". */
async function fatalAnswer(socket: RawStompSocket, timeoutMs = 10_000): Promise<string> {
  const closed = await socket.waitForClose(timeoutMs);
  const error = socket.frames.find((frame) => frame.command === 'ERROR');
  return error ? `ERROR "${headerOf(error, 'message')}", close ${closed.code}` : `close ${closed.code} ${closed.reason}`;
}

describe('hostile STOMP frames', () => {
  it('should answer a frame before CONNECT with ERROR and close, and keep serving others', async () => {
    const socket = await openRawStomp(t.baseUrl);
    socket.send(frameText('SEND', { destination: '/app/chat.send', receipt: 'r-1' }, JSON.stringify({ roomId, content: 'sneaking in' })));
    const answer = await fatalAnswer(socket);
    log.record('SEND before CONNECT', 'ERROR "not connected", close 1002, nothing produced', answer);
    expect(answer).toBe('ERROR "not connected", close 1002');
    expect(socket.frames.map((frame) => frame.command)).toEqual(['ERROR']);
    await expectStillServing();
  });

  it('should refuse every frame over a limit with an ERROR naming the limit, then close', async () => {
    const cases: { input: string; send: (socket: RawStompSocket) => void; expected: RegExp; expectedText: string }[] = [
      {
        input: 'SEND with a 70,000-byte body, no content-length',
        send: (socket) => socket.send(frameText('SEND', { destination: '/app/chat.send' }, 'x'.repeat(70_000))),
        expected: /^ERROR "frame exceeds the 65536-byte frame limit", close 1002$/,
        expectedText: 'ERROR naming the 64 KiB frame limit, close 1002',
      },
      {
        input: 'SEND declaring content-length 70000',
        send: (socket) => socket.send(`SEND\ndestination:/app/chat.send\ncontent-length:70000\n\n`),
        expected: /^ERROR "content-length "70000" exceeds the 65536-byte body limit", close 1002$/,
        expectedText: 'ERROR naming the body limit before any body byte, close 1002',
      },
      {
        input: 'SEND with 33 headers',
        send: (socket) =>
          socket.send(`SEND\ndestination:/app/chat.send\n${Array.from({ length: 32 }, (_, index) => `h${index}:v\n`).join('')}\n{}\0`),
        expected: /^ERROR "frame has more than 32 headers", close 1002$/,
        expectedText: 'ERROR naming the 32-header limit, close 1002',
      },
      {
        input: 'SEND with a 9,000-byte header line',
        send: (socket) => socket.send(`SEND\ndestination:/app/chat.send\nx:${'v'.repeat(9_000)}\n\n{}\0`),
        expected: /^ERROR "header line exceeds 8192 octets", close 1002$/,
        expectedText: 'ERROR naming the 8 KiB header-line limit, close 1002',
      },
      {
        input: 'a 100-byte command line',
        send: (socket) => socket.send(`${'SEND'.repeat(25)}\n\n\0`),
        expected: /^ERROR "command line is longer than any known command", close 1002$/,
        expectedText: 'ERROR, close 1002',
      },
      {
        input: 'content-length of -1',
        send: (socket) => socket.send(`SEND\ndestination:/app/chat.send\ncontent-length:-1\n\n{}\0`),
        expected: /^ERROR "content-length .* is not an octet count", close 1002$/,
        expectedText: 'ERROR, close 1002',
      },
      {
        input: 'one WebSocket message of 200 KiB',
        send: (socket) => socket.send(Buffer.alloc(200 * 1024, 0x41), { binary: true }),
        expected: /^close 1009/,
        expectedText: 'close 1009 at the transport, before buffering it',
      },
      {
        input: '300 SENDs in one WebSocket message',
        send: (socket) =>
          socket.send(frameText('SEND', { destination: '/app/chat.send' }, JSON.stringify({ roomId, content: 'burst' })).repeat(300)),
        expected: /^ERROR "too many frames in flight", close 1002$/,
        expectedText: 'ERROR at the 257th frame waiting to be handled, close 1002',
      },
    ];
    for (const entry of cases) {
      const socket = await connectedRaw();
      entry.send(socket);
      const answer = await fatalAnswer(socket);
      log.record(entry.input, entry.expectedText, answer);
      expect(answer, entry.input).toMatch(entry.expected);
    }

    // Over the content limit is a bad message, not a bad connection: it is refused on the error queue.
    const socket = await connectedRaw();
    socket.send(frameText('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors', receipt: 'errors' }));
    await waitFor(() => socket.frames.some((frame) => frame.command === 'RECEIPT'));
    socket.send(
      frameText('SEND', { destination: '/app/chat.send', receipt: 'long' }, JSON.stringify({ roomId, content: 'x'.repeat(4_001) })),
    );
    const refusal = await socket.frame('MESSAGE');
    const body = JSON.parse(refusal.body.toString()) as { code: string; message: string };
    log.record(
      'SEND with 4,001 characters of content',
      'VALIDATION on /user/queue/errors, connection kept',
      `${body.code} "${body.message}" on /user/queue/errors, connection kept`,
    );
    expect(body).toMatchObject({ code: 'VALIDATION', message: 'content: must be at most 4000 characters' });
    expect(socket.closed).toBeUndefined();
    socket.close();
    await expectStillServing();
  });

  it('should stop 10,000 SUBSCRIBEs on one session at the 100-subscription limit, paced or pipelined, and free them all', async () => {
    const subscribe = (index: number, receipt?: string) =>
      frameText('SUBSCRIBE', { id: `s${index}`, destination: '/topic/presence', ...(receipt ? { receipt } : {}) });
    const presenceBefore = t.app.realtime.registry.subscriberCount('/topic/presence');

    // Paced: batches of 100, each waiting for its RECEIPT, as a client that minds its answers.
    const paced = await connectedRaw();
    let sent = 0;
    while (sent < 10_000 && !paced.closed && !paced.frames.some((frame) => frame.command === 'ERROR')) {
      const batch = Array.from({ length: 100 }, (_, offset) => subscribe(sent + offset, offset === 99 ? `batch-${sent}` : undefined)).join(
        '',
      );
      const receipt = `batch-${sent}`;
      paced.send(batch);
      sent += 100;
      await waitFor(
        () =>
          paced.frames.some(
            (frame) => (frame.command === 'RECEIPT' && headerOf(frame, 'receipt-id') === receipt) || frame.command === 'ERROR',
          ),
        {
          timeoutMs: 10_000,
          what: `an answer to SUBSCRIBE batch ${receipt}`,
        },
      );
    }
    const pacedAnswer = await fatalAnswer(paced);
    log.record(
      '10,000 SUBSCRIBEs, 100 at a time',
      'RECEIPTs for 100, then ERROR at the 101st, close 1002',
      `${sent} sent before the close; ${pacedAnswer}`,
    );
    expect(pacedAnswer).toBe('ERROR "too many subscriptions", close 1002');
    expect(sent).toBe(200);

    // Pipelined: everything at once, 1,000 frames per WebSocket message.
    const pipelined = await connectedRaw();
    for (let start = 0; start < 10_000 && !pipelined.closed; start += 1_000) {
      pipelined.send(Array.from({ length: 1_000 }, (_, offset) => subscribe(start + offset)).join(''));
    }
    const pipelinedAnswer = await fatalAnswer(pipelined);
    log.record('10,000 SUBSCRIBEs pipelined, 1,000 per WebSocket message', 'ERROR at the first limit reached, close 1002', pipelinedAnswer);
    expect(pipelinedAnswer).toMatch(/^ERROR "(too many frames in flight|too many subscriptions)", close 1002$/);

    await waitFor(() => t.app.realtime.registry.subscriberCount('/topic/presence') === presenceBefore, {
      what: 'every refused subscription released',
    });
    await expectStillServing();
  });

  it('should cut off a reader that never reads once its backlog passes 1 MiB, while other subscribers get every message', async () => {
    const slow = await openTcpStomp(t.baseUrl);
    slow.send(connectText(carol.token));
    await slow.frame('CONNECTED');
    const slowRoom = (
      await t.app.inject({
        method: 'POST',
        url: '/api/rooms/group',
        headers: bearer(alice.token),
        payload: { name: 'fire hose', memberIds: [bob.userId, carol.userId] },
      })
    ).json().roomId as number;
    const slowTopic = `/topic/room.${slowRoom}`;
    slow.send(frameText('SUBSCRIBE', { id: 'hose', destination: slowTopic, receipt: 'hose' }));
    await slow.frame('RECEIPT');
    await bystander.subscribe(slowTopic);
    slow.stopReading();

    const sender = await connectStomp(t.baseUrl, alice.token);
    await sender.subscribe('/user/queue/errors');
    const content = 'z'.repeat(4_000);
    let receipted = 0;
    const subscribers = () => t.app.realtime.registry.subscriberCount(slowTopic);
    // ~4 KiB per MESSAGE: the kernel's socket buffers take a few MiB before the server's own backlog grows.
    while (subscribers() === 2 && receipted < 10_000) {
      await Promise.all(
        Array.from({ length: 50 }, () =>
          sender.sendWithReceipt('/app/chat.send', { roomId: slowRoom, content }).then(() => (receipted += 1)),
        ),
      );
    }
    await waitFor(() => subscribers() === 1, { timeoutMs: 15_000, what: 'the slow reader cut off' });
    await waitFor(() => bystander.received(slowTopic).length >= receipted, {
      timeoutMs: 30_000,
      what: `all ${receipted} messages at the reading subscriber`,
    });
    const prometheus = await (await fetch(`${t.baseUrl}/actuator/prometheus`)).text();
    const cutOffs = Number(/chat_stomp_rejections_total\{reason="slow-consumer"\} (\d+)/.exec(prometheus)?.[1] ?? 0);
    log.record(
      'a subscriber that never reads its socket, in a room receiving 4 KiB messages',
      'cut off once more than 1 MiB waits in its socket; others get everything',
      `terminated after ${receipted} messages (~${Math.round((receipted * 4.1) / 1024)} MiB) were sent; the reading subscriber got all ${bystander.received(slowTopic).length}; slow-consumer cut-offs ${cutOffs}`,
    );
    expect(cutOffs).toBeGreaterThanOrEqual(1);
    expect(bystander.received(slowTopic).length).toBe(receipted);
    slow.destroy();
    await sender.close();
    await expectStillServing();
  });

  it('should answer a flood of 1,000 CONNECTs from one address each with CONNECTED or ERROR, and keep a bystander served', async () => {
    const kinds = [
      { name: 'valid', connect: () => connectText(alice.token) },
      { name: 'bad signature', connect: () => connectText(`${alice.token.slice(0, -4)}AAAA`) },
      { name: 'no token', connect: () => frameText('CONNECT', { 'accept-version': '1.2', host: 'chat' }) },
    ];
    const tally: Record<string, number> = {};
    const sessionsBefore = t.app.realtime.sessions.size;
    const latencies: number[] = [];
    let flooding = true;
    const probing = (async () => {
      while (flooding) latencies.push(await expectStillServing());
    })();
    const started = performance.now();
    const FLOOD = 1_000;
    const WAVE = 100;
    for (let wave = 0; wave < FLOOD; wave += WAVE) {
      await Promise.all(
        Array.from({ length: WAVE }, async (_, offset) => {
          const kind = kinds[(wave + offset) % kinds.length]!;
          const socket = await openRawStomp(t.baseUrl);
          socket.send(kind.connect());
          const first = await waitFor(
            () =>
              socket.frames[0] ??
              (socket.closed ? { command: `close ${socket.closed.code}`, headers: [], body: Buffer.alloc(0) } : undefined),
            {
              timeoutMs: 15_000,
              what: 'an answer to CONNECT',
            },
          );
          const answer = `${kind.name}: ${first.command}${first.command === 'ERROR' ? ` "${headerOf(first, 'message')}"` : ''}`;
          tally[answer] = (tally[answer] ?? 0) + 1;
          socket.ws.terminate();
        }),
      );
    }
    const elapsedMs = performance.now() - started;
    flooding = false;
    await probing;
    await waitFor(() => t.app.realtime.sessions.size === sessionsBefore, { what: 'every flooded session released' });
    log.record(
      `${FLOOD} CONNECTs from 127.0.0.1, ${WAVE} at a time (a third each valid, bad signature, no token)`,
      'CONNECTED for valid tokens, ERROR and close 1008 for the rest; others unaffected',
      `${JSON.stringify(tally)} in ${Math.round(elapsedMs)} ms (${Math.round((FLOOD / elapsedMs) * 1000)}/s); bystander ${latencies.length} round trips meanwhile, slowest ${Math.round(Math.max(...latencies))} ms`,
    );
    expect(tally).toEqual({
      'valid: CONNECTED': 334,
      'bad signature: ERROR "Invalid token"': 333,
      'no token: ERROR "authentication required"': 333,
    });
    expect(Math.max(...latencies)).toBeLessThan(2_000);
  });
});

describe('hostile STOMP stalls', () => {
  // The limits are configured short here (the defaults, 10 s and 30 s, are what a unit test of the
  // configuration proves), so the test takes well under a second instead of 30.
  const limits = { STOMP_CONNECT_TIMEOUT_MS: '300', STOMP_FRAME_TIMEOUT_MS: '500' };
  const stallIsolation = testEnv({ ...limits, RATE_LIMIT_MESSAGES_PER_SECOND: '100000' });
  let short: TestApp;
  let dave: SignedUpUser;
  let daveRoom: number;
  let daveClient: TestStompClient;

  beforeAll(async () => {
    short = await startTestApp(stallIsolation);
    dave = await signup(short.app);
    daveRoom = (
      await short.app.inject({
        method: 'POST',
        url: '/api/rooms/group',
        headers: bearer(dave.token),
        payload: { name: 'stalls', memberIds: [] },
      })
    ).json().roomId;
    daveClient = await connectStomp(short.baseUrl, dave.token);
    await daveClient.subscribe(`/topic/room.${daveRoom}`);
    await daveClient.subscribe('/user/queue/errors');
  });
  afterAll(async () => {
    await daveClient?.close();
    await short?.close();
    await cleanupTestEnv(stallIsolation, short?.app);
  });

  it('should refuse half a frame that stalls, before or after CONNECT or trickled byte by byte, while others are served meanwhile', async () => {
    const started = Date.now();
    const beforeConnect = await openRawStomp(short.baseUrl);
    beforeConnect.send('CONNECT\naccept-version:1.2\nAuthoriz');
    const stalled = await connectedRaw(dave.token, short.baseUrl);
    stalled.send(`SEND\ndestination:/app/chat.send\ncontent-length:40\n\n{"roomId":${daveRoom},"con`);
    const trickle = await connectedRaw(dave.token, short.baseUrl);
    trickle.send('SEND\ndestination:/app/chat.send\nx-slow:');
    // A byte every tenth of the frame timeout: arriving bytes do not extend a frame's deadline.
    const dripping = setInterval(() => {
      if (!trickle.closed) trickle.send('x');
    }, 50);
    const latencies: number[] = [];
    try {
      // The stalled clients hold nothing others need: the bystander keeps going meanwhile.
      await waitFor(
        async () => {
          latencies.push(await expectStillServing(daveClient, daveRoom));
          return beforeConnect.closed && stalled.closed && trickle.closed;
        },
        { timeoutMs: 10_000, intervalMs: 50, what: 'every stalled client refused' },
      );
    } finally {
      clearInterval(dripping);
    }
    const elapsedMs = Date.now() - started;
    const answers = [await fatalAnswer(beforeConnect), await fatalAnswer(stalled), await fatalAnswer(trickle)];
    log.record(
      'half a CONNECT frame, then nothing',
      'ERROR after the CONNECT deadline (STOMP_CONNECT_TIMEOUT_MS: 10 s by default, 300 ms here), close 1008',
      answers[0]!,
    );
    log.record(
      'CONNECT, then half a SEND frame and nothing (heart-beats off, pings answered)',
      'ERROR once the frame is STOMP_FRAME_TIMEOUT_MS old (30 s by default, 500 ms here), close 1008',
      answers[1]!,
    );
    log.record(
      'CONNECT, then a header trickled one byte every 50 ms',
      'ERROR once the frame is STOMP_FRAME_TIMEOUT_MS old, close 1008',
      answers[2]!,
    );
    log.record(
      'a bystander meanwhile',
      'served as usual',
      `${latencies.length} round trips, slowest ${Math.round(Math.max(...latencies))} ms, all three refused within ${elapsedMs} ms`,
    );
    expect(answers).toEqual([
      'ERROR "CONNECT not received in time", close 1008',
      'ERROR "frame not completed in time", close 1008',
      'ERROR "frame not completed in time", close 1008',
    ]);
    expect(Math.max(...latencies)).toBeLessThan(2_000);
  });
});

describe('hostile credentials and rooms over STOMP', () => {
  it("should refuse CONNECT with no token, an expired one, a wrong signature, alg:none and a deleted user's token, each with ERROR and 1008", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ghost = await signup(t.app);
    await t.app.deps.database.sql`delete from users where id = ${ghost.userId}`;
    const cases: [string, string | undefined, string][] = [
      ['no token', undefined, 'authentication required'],
      [
        'an expired token',
        handMadeToken({ sub: String(alice.userId), email: alice.email, iat: now - 7200, exp: now - 3600 }),
        'Token expired',
      ],
      [
        'a token signed with another secret',
        handMadeToken({ sub: String(alice.userId), email: alice.email, iat: now }, { secret: 'not-the-server-secret-but-long-enough!!' }),
        'Invalid token',
      ],
      ['an alg:none token', handMadeToken({ sub: String(alice.userId), email: alice.email, iat: now }, { alg: 'none' }), 'Invalid token'],
      ["a deleted user's valid token", ghost.token, 'User no longer exists'],
    ];
    for (const [label, token, message] of cases) {
      const socket = await openRawStomp(t.baseUrl);
      socket.send(token ? connectText(token) : frameText('CONNECT', { 'accept-version': '1.2', host: 'chat' }));
      const answer = await fatalAnswer(socket);
      log.record(`CONNECT with ${label}`, `ERROR "${message}", close 1008`, answer);
      expect(answer, label).toBe(`ERROR "${message}", close 1008`);
    }
    await expectStillServing();
  });

  it('should refuse SUBSCRIBE and SEND into a room the user is not in, and 50 guessed room ids, without a RECEIPT or a stored row', async () => {
    const foreign = await connectedRaw(carol.token);
    foreign.send(frameText('SUBSCRIBE', { id: 'peek', destination: topic, receipt: 'peek' }));
    const subscribeAnswer = await fatalAnswer(foreign);
    log.record('SUBSCRIBE to a room the user is not in', `ERROR "not a member of room …", close 1008`, subscribeAnswer);
    expect(subscribeAnswer).toBe(`ERROR "not a member of room ${roomId}", close 1008`);

    const sql = t.app.deps.database.sql;
    const [newest] = await sql<{ max: number }[]>`select coalesce(max(id), 0)::int as max from chat_rooms`;
    const max = newest!.max;
    const own = new Set(
      (await sql<{ room_id: number }[]>`select room_id::int as room_id from chat_room_members where user_id = ${carol.userId}`).map(
        (row) => row.room_id,
      ),
    );
    const guesses: number[] = [];
    for (let id = 1; guesses.length < 50 && id <= max + 100; id += 1) if (!own.has(id)) guesses.push(id);

    const subscribeAnswers = new Map<string, number>();
    await Promise.all(
      guesses.map(async (guess) => {
        const socket = await connectedRaw(carol.token);
        socket.send(frameText('SUBSCRIBE', { id: 'guess', destination: `/topic/room.${guess}`, receipt: 'guess' }));
        const answer = (await fatalAnswer(socket)).replace(String(guess), '<id>');
        subscribeAnswers.set(answer, (subscribeAnswers.get(answer) ?? 0) + 1);
        expect(socket.frames.some((frame) => frame.command === 'RECEIPT')).toBe(false);
      }),
    );
    log.record(
      `SUBSCRIBE to ${guesses.length} guessed room ids (existing or not)`,
      'the same ERROR for every id, so guessing reveals nothing',
      JSON.stringify(Object.fromEntries(subscribeAnswers)),
    );
    expect(Object.fromEntries(subscribeAnswers)).toEqual({ 'ERROR "not a member of room <id>", close 1008': guesses.length });

    const sender = await connectStomp(t.baseUrl, carol.token);
    await sender.subscribe('/user/queue/errors');
    const sendAnswers = new Map<string, number>();
    for (const guess of [roomId, ...guesses]) {
      const outcome = await sender.sendWithReceipt('/app/chat.send', { roomId: guess, content: 'let me in' }).then(
        () => 'RECEIPT',
        (error: Error) => (JSON.parse(error.message.replace('SEND refused: ', '')) as { code: string; message: string }).code,
      );
      sendAnswers.set(outcome, (sendAnswers.get(outcome) ?? 0) + 1);
    }
    await sender.close();
    const [count] = await sql<{ stored: number }[]>`select count(*)::int as stored from messages where sender_id = ${carol.userId}`;
    const stored = count!.stored;
    log.record(
      `SEND into a foreign room and ${guesses.length} guessed ids`,
      'FORBIDDEN on /user/queue/errors for each, nothing stored',
      `${JSON.stringify(Object.fromEntries(sendAnswers))}; ${stored} rows stored`,
    );
    expect(Object.fromEntries(sendAnswers)).toEqual({ FORBIDDEN: guesses.length + 1 });
    expect(stored).toBe(0);
    await expectStillServing();
  });
});
