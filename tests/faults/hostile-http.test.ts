import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerLog, handMadeToken } from '../helpers/fault-hostile.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Hostile HTTP input against one instance on the shared services: every kind of bad credential on
 * every protected route, rooms that are not yours, bodies too big, of the wrong type or too deep,
 * SQL-looking text and Unicode edge cases in every text field (stored and returned verbatim,
 * never executed), and path ids that are not numbers. Each answer is checked for the one error
 * shape, with no stack, SQL or secret in it, and the service still serves a normal request
 * afterwards. The answers go to test-results/faults/hostile-http.json.
 */
const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '10000', RATE_LIMIT_MESSAGES_PER_SECOND: '1000' });
const log = new AnswerLog('hostile-http');
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let carol: SignedUpUser;
let roomId: number;

beforeAll(async () => {
  t = await startTestApp(isolation);
  [alice, bob, carol] = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(alice.token),
    payload: { name: 'private', memberIds: [bob.userId] },
  });
  roomId = room.json().roomId;
});
afterAll(async () => {
  log.write();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

/** What an answer looked like, for the log: status and message of the error shape. */
function describeAnswer(response: LightMyRequestResponse): string {
  if (response.statusCode < 400) return String(response.statusCode);
  const body = response.json() as { message?: string };
  return `${response.statusCode} "${body.message}"`;
}

/** The one error shape, and nothing in it that helps an attacker. */
function expectCleanError(response: LightMyRequestResponse, status: number): void {
  expect(response.statusCode, response.body).toBe(status);
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'path', 'status', 'timestamp']);
  expect(response.body).not.toMatch(/ at .*\.(ts|js):\d+|select |insert |postgres|TEST_JWT|secret/i);
}

async function expectStillServing(): Promise<void> {
  const response = await t.app.inject({ method: 'GET', url: '/api/rooms', headers: bearer(alice.token) });
  expect(response.statusCode, response.body).toBe(200);
}

const PROTECTED_ROUTES = () => [
  { method: 'GET' as const, url: '/api/users/me' },
  { method: 'GET' as const, url: '/api/users?query=a' },
  { method: 'GET' as const, url: '/api/rooms' },
  { method: 'GET' as const, url: `/api/rooms/${roomId}` },
  { method: 'GET' as const, url: `/api/rooms/${roomId}/messages` },
  { method: 'GET' as const, url: `/api/rooms/${roomId}/members/online` },
  { method: 'POST' as const, url: `/api/rooms/${roomId}/read`, payload: { lastReadMessageId: 1 } },
  { method: 'POST' as const, url: '/api/rooms/group', payload: { name: 'mine now', memberIds: [] } },
  { method: 'POST' as const, url: '/api/rooms/direct', payload: { targetUserId: 1 } },
  { method: 'GET' as const, url: '/actuator/info' },
  { method: 'GET' as const, url: '/actuator/metrics' },
];

describe('hostile credentials over HTTP', () => {
  it("should answer 401 on every protected route to no token, an expired one, a wrong signature, alg:none and a deleted user's token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ghost = await signup(t.app);
    await t.app.deps.database.sql`delete from users where id = ${ghost.userId}`;
    const credentials: [string, Record<string, string>][] = [
      ['no token', {}],
      ['Basic credentials', { authorization: 'Basic YWxpY2U6c2VjcmV0' }],
      ['an expired token', bearer(handMadeToken({ sub: String(alice.userId), email: alice.email, iat: now - 7200, exp: now - 3600 }))],
      [
        'a token signed with another secret',
        bearer(
          handMadeToken({ sub: String(alice.userId), email: alice.email, iat: now }, { secret: 'not-the-server-secret-but-long-enough!!' }),
        ),
      ],
      ['an alg:none token', bearer(handMadeToken({ sub: String(alice.userId), email: alice.email, iat: now }, { alg: 'none' }))],
      ["a deleted user's valid token", bearer(ghost.token)],
    ];
    for (const [label, headers] of credentials) {
      const answers = new Map<string, string[]>();
      for (const route of PROTECTED_ROUTES()) {
        const response = await t.app.inject({ ...route, headers });
        const answer = describeAnswer(response);
        answers.set(answer, [...(answers.get(answer) ?? []), `${route.method} ${route.url.split('?')[0]}`]);
        expectCleanError(response, 401);
      }
      log.record(`${label}, on ${PROTECTED_ROUTES().length} protected routes`, '401 on every one', [...answers.keys()].join('; '));
    }
    await expectStillServing();
  });

  it('should refuse rooms that are not yours, and answer guessed ids without showing what is inside', async () => {
    const foreign = [
      { method: 'GET' as const, url: `/api/rooms/${roomId}` },
      { method: 'GET' as const, url: `/api/rooms/${roomId}/messages` },
      { method: 'GET' as const, url: `/api/rooms/${roomId}/members/online` },
      { method: 'POST' as const, url: `/api/rooms/${roomId}/read`, payload: { lastReadMessageId: 1 } },
    ];
    for (const route of foreign) {
      const response = await t.app.inject({ ...route, headers: bearer(carol.token) });
      expectCleanError(response, 403);
      log.record(`${route.method} ${route.url.replace(String(roomId), '{a room carol is not in}')}`, '403', describeAnswer(response));
    }
    const statuses = new Map<number, number>();
    for (let guess = 1; guess <= 200; guess += 1) {
      const response = await t.app.inject({ method: 'GET', url: `/api/rooms/${guess}/messages`, headers: bearer(carol.token) });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      expect([403, 404], response.body).toContain(response.statusCode);
      expect(response.body).not.toContain('messages":[');
    }
    log.record(
      'GET /api/rooms/{1..200}/messages by a user in none of them',
      '403 (exists, not a member) or 404 (no such room); never a message',
      JSON.stringify(Object.fromEntries(statuses)),
    );
    await expectStillServing();
  });
});

describe('hostile HTTP bodies', () => {
  it('should refuse oversized bodies, wrong content types, broken, deep and prototype-polluting JSON with a 4xx and the error shape', async () => {
    const deep = (depth: number) =>
      `{"email":${'['.repeat(depth)}${']'.repeat(depth)},"password":"correct horse battery","nickname":"deep"}`;
    const cases: { input: string; request: InjectOptions; status: number }[] = [
      {
        input: 'a 300 KiB JSON body',
        request: {
          method: 'POST',
          url: '/api/auth/signup',
          payload: JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(300 * 1024), nickname: 'big' }),
          headers: { 'content-type': 'application/json' },
        },
        status: 413,
      },
      {
        input: 'a 10 MiB JSON body',
        request: {
          method: 'POST',
          url: '/api/rooms/group',
          payload: `{"name":"${'x'.repeat(10 * 1024 * 1024)}","memberIds":[]}`,
          headers: { ...bearer(alice.token), 'content-type': 'application/json' },
        },
        status: 413,
      },
      {
        input: 'text/plain body',
        request: { method: 'POST', url: '/api/auth/login', payload: 'email=a@b.c', headers: { 'content-type': 'text/plain' } },
        status: 415,
      },
      {
        input: 'form-encoded body',
        request: {
          method: 'POST',
          url: '/api/auth/login',
          payload: 'email=a%40b.c&password=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        status: 415,
      },
      {
        input: 'XML body',
        request: { method: 'POST', url: '/api/auth/login', payload: '<login/>', headers: { 'content-type': 'application/xml' } },
        status: 415,
      },
      {
        input: 'JSON sent as multipart/form-data',
        request: { method: 'POST', url: '/api/auth/login', payload: '{}', headers: { 'content-type': 'multipart/form-data; boundary=x' } },
        status: 415,
      },
      {
        input: 'broken JSON',
        request: { method: 'POST', url: '/api/auth/login', payload: '{"email": "a@b.c",', headers: { 'content-type': 'application/json' } },
        status: 400,
      },
      {
        input: 'JSON nested 10,000 deep',
        request: { method: 'POST', url: '/api/auth/signup', payload: deep(10_000), headers: { 'content-type': 'application/json' } },
        status: 400,
      },
      {
        input: 'JSON nested 100,000 deep',
        request: { method: 'POST', url: '/api/auth/signup', payload: deep(100_000), headers: { 'content-type': 'application/json' } },
        status: 400,
      },
      {
        input: 'a "__proto__" key',
        request: {
          method: 'POST',
          url: '/api/auth/login',
          payload: '{"email":"a@b.c","password":"x","__proto__":{"isAdmin":true}}',
          headers: { 'content-type': 'application/json' },
        },
        status: 400,
      },
      {
        input: 'a "constructor.prototype" key',
        request: {
          method: 'POST',
          url: '/api/auth/login',
          payload: '{"email":"a@b.c","password":"x","constructor":{"prototype":{"isAdmin":true}}}',
          headers: { 'content-type': 'application/json' },
        },
        status: 400,
      },
      {
        input: 'a JSON array instead of an object',
        request: { method: 'POST', url: '/api/auth/login', payload: '[1,2,3]', headers: { 'content-type': 'application/json' } },
        status: 400,
      },
      {
        input: 'memberIds with 100,000 entries',
        request: {
          method: 'POST',
          url: '/api/rooms/group',
          payload: { name: 'crowd', memberIds: Array.from({ length: 100_000 }, (_, index) => index + 1) },
          headers: bearer(alice.token),
        },
        status: 413,
      },
      {
        input: 'memberIds with 10,000 entries (under the body limit)',
        request: {
          method: 'POST',
          url: '/api/rooms/group',
          payload: { name: 'crowd', memberIds: Array.from({ length: 10_000 }, (_, index) => index + 1) },
          headers: bearer(alice.token),
        },
        status: 400,
      },
      {
        input: 'a number where a string belongs',
        request: { method: 'POST', url: '/api/auth/login', payload: { email: 12345, password: ['x'] } },
        status: 400,
      },
    ];
    for (const entry of cases) {
      const response = await t.app.inject(entry.request);
      log.record(entry.input, String(entry.status), describeAnswer(response));
      expectCleanError(response, entry.status);
    }
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    await expectStillServing();
  });

  it('should answer 400 naming the parameter to path and query ids that are not positive integers', async () => {
    const bad = [
      'abc',
      '1e3',
      '-1',
      '0',
      '0x10',
      '1.5',
      '99999999999999999999',
      '%201',
      '1%3BDROP%20TABLE%20messages',
      "1'%20OR%20'1'='1",
      '%F0%9F%98%80',
      '１２',
    ];
    const answers = new Map<string, number>();
    for (const id of bad) {
      for (const path of [`/api/rooms/${id}`, `/api/rooms/${id}/messages`, `/api/rooms/${id}/members/online`]) {
        const response = await t.app.inject({ method: 'GET', url: path, headers: bearer(alice.token) });
        expectCleanError(response, 400);
        expect((response.json() as { message: string }).message).toMatch(/^roomId: /);
        answers.set(describeAnswer(response), (answers.get(describeAnswer(response)) ?? 0) + 1);
      }
      const read = await t.app.inject({
        method: 'POST',
        url: `/api/rooms/${id}/read`,
        headers: bearer(alice.token),
        payload: { lastReadMessageId: 1 },
      });
      expectCleanError(read, 400);
    }
    log.record(
      `${bad.length} non-numeric room ids (${bad.slice(0, 6).join(', ')}, …) on 4 routes`,
      '400 naming roomId',
      [...answers.keys()].join('; '),
    );
    const queries = [
      `/api/rooms/${roomId}/messages?cursor=abc`,
      `/api/rooms/${roomId}/messages?after=-1`,
      `/api/rooms/${roomId}/messages?size=1000`,
      `/api/rooms/${roomId}/messages?size=0`,
      `/api/rooms/${roomId}/messages?cursor=1&after=2`,
      '/api/users?size=-5',
      '/api/users?cursor=1e3',
    ];
    for (const url of queries) {
      const response = await t.app.inject({ method: 'GET', url, headers: bearer(alice.token) });
      expectCleanError(response, 400);
      log.record(`GET ${url.replace(`/rooms/${roomId}/`, '/rooms/{id}/')}`, '400 naming the parameter', describeAnswer(response));
    }
    await expectStillServing();
  });
});

/** Text that looks like SQL, markup or trouble for an encoder; each must come back as it went in. */
const NASTY_TEXT = [
  "'; DROP TABLE users; --",
  "' OR '1'='1",
  "Robert'); DROP TABLE messages;--",
  '%_\\ LIKE wildcards',
  '$1 $$ dollar-quoted $$ ::text',
  '<script>alert(1)</script>',
  '{{7*7}} ${7*7} #{7*7}',
  '👨‍👩‍👧‍👦 family, 🇫🇷 flag, 🏳️‍🌈',
  'e\u0301 combining, Ǆ, ﬁ ligature',
  '\u202Eevil\u202C right-to-left override',
  'zero\u200Bwidth\uFEFFbom',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 字 Ελληνικά العربية',
  'line\u2028separator\u2029paragraph\r\nCRLF\ttab',
  '\\u0000 written out, \\x00 too',
];

describe('hostile text in every text field', () => {
  it('should store and return SQL-looking and Unicode edge-case text verbatim in nicknames, passwords, room names, messages and search', async () => {
    const sql = t.app.deps.database.sql;
    const outcomes: string[] = [];
    for (const [index, text] of NASTY_TEXT.entries()) {
      const nickname = text.slice(0, 50);
      const password = `${text} pw`.slice(0, 200);
      const email = `nasty${index}_${isolation.suffix}@example.com`;
      const created = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email, password, nickname } });
      expect(created.statusCode, created.body).toBe(201);
      const user = created.json() as SignedUpUser;
      expect(user.nickname).toBe(nickname);
      const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } });
      expect(login.statusCode, `login with password ${JSON.stringify(password)}`).toBe(200);
      const me = await t.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(user.token) });
      expect(me.json().nickname).toBe(nickname);

      const room = await t.app.inject({
        method: 'POST',
        url: '/api/rooms/group',
        headers: bearer(user.token),
        payload: { name: text.slice(0, 100), memberIds: [alice.userId] },
      });
      expect(room.statusCode, room.body).toBe(201);
      const { roomId: nastyRoom, name } = room.json() as { roomId: number; name: string };
      expect(name).toBe(text.slice(0, 100));

      const found = await t.app.inject({
        method: 'GET',
        url: `/api/users?query=${encodeURIComponent(nickname)}`,
        headers: bearer(alice.token),
      });
      expect(found.statusCode, found.body).toBe(200);
      // LIKE metacharacters and quotes are data: the search finds this user, not everyone.
      expect((found.json() as { users: { id: number }[] }).users.map((found) => found.id)).toContain(user.userId);
      outcomes.push(`${JSON.stringify(text)}: search ${found.json().users.length} match(es)`);

      const client = await connectStomp(t.baseUrl, user.token);
      try {
        await client.subscribe(`/topic/room.${nastyRoom}`);
        const receipt = await client.sendWithReceipt('/app/chat.send', { roomId: nastyRoom, content: text });
        const live = await waitFor(
          () =>
            client
              .bodies<{ messageKey: string; content: string }>(`/topic/room.${nastyRoom}`)
              .find((body) => body.messageKey === receipt['message-key']),
          {
            what: 'the message back live',
          },
        );
        expect(live.content).toBe(text);
        const history = await waitFor(
          async () => {
            const page = await t.app.inject({ method: 'GET', url: `/api/rooms/${nastyRoom}/messages`, headers: bearer(alice.token) });
            return (page.json() as { messages: { messageKey: string; content: string; senderNickname: string }[] }).messages.find(
              (message) => message.messageKey === receipt['message-key'],
            );
          },
          { what: 'the message in history' },
        );
        expect(history).toMatchObject({ content: text, senderNickname: nickname });
      } finally {
        await client.close();
      }
    }
    // Nothing was executed: every table is still there and holds what it should.
    const [tables] = await sql<
      { n: number }[]
    >`select count(*)::int as n from information_schema.tables where table_name in ('users', 'messages', 'chat_rooms', 'chat_room_members')`;
    expect(tables!.n).toBe(4);
    log.record(
      `${NASTY_TEXT.length} SQL-looking and Unicode edge-case strings as nickname, password, room name, message content and search query`,
      'stored and returned verbatim (live MESSAGE, history, /users/me, search); nothing executed',
      `all ${NASTY_TEXT.length} verbatim; ${outcomes.length} searches found their user; tables intact`,
    );
  });

  it('should take a message of 4,000 characters however they are encoded, and store it verbatim', async () => {
    const longest: [string, string][] = [
      ['4,000 emoji (8,000 UTF-16 units)', '😀'.repeat(4_000)],
      ['4,000 letters between 200 spaces either side', `${' '.repeat(200)}${'a'.repeat(4_000)}${' '.repeat(200)}`],
      ['4,000 CJK characters (12,000 UTF-8 bytes)', '字'.repeat(4_000)],
    ];
    const client = await connectStomp(t.baseUrl, alice.token);
    await client.subscribe('/user/queue/errors');
    try {
      for (const [label, content] of longest) {
        const receipt = await client.sendWithReceipt('/app/chat.send', { roomId, content });
        const stored = await waitFor(
          async () => {
            const [row] = await t.app.deps.database.sql<
              { content: string }[]
            >`select content from messages where message_key = ${receipt['message-key']!}`;
            return row;
          },
          { what: `${label} stored` },
        );
        log.record(
          `SEND of ${label}`,
          'RECEIPT, stored verbatim',
          stored.content === content ? 'RECEIPT, stored verbatim' : 'RECEIPT, stored DIFFERENT text',
        );
        expect(stored.content === content, label).toBe(true);
      }
    } finally {
      await client.close();
    }
  });

  it('should refuse text PostgreSQL cannot store (a NUL character, a lone surrogate) with 400 or a VALIDATION error, never a RECEIPT for a message then lost', async () => {
    // The query string carries the same code unit as raw bytes: %00, or the 3-byte form a lone surrogate would have.
    const unstorable: [string, string, string][] = [
      ['a NUL character', 'before\u0000after', 'before%00after'],
      ['a lone high surrogate', 'broken \uD800 pair', 'broken%20%ED%A0%80%20pair'],
      ['a lone low surrogate', 'broken \uDC00 pair', 'broken%20%ED%B0%80%20pair'],
    ];
    const client = await connectStomp(t.baseUrl, alice.token);
    await client.subscribe('/user/queue/errors');
    try {
      for (const [label, text, inQuery] of unstorable) {
        const signupAnswer = await t.app.inject({
          method: 'POST',
          url: '/api/auth/signup',
          payload: { email: `odd_${Math.random().toString(36).slice(2)}@example.com`, password: 'correct horse battery', nickname: text },
        });
        const roomAnswer = await t.app.inject({
          method: 'POST',
          url: '/api/rooms/group',
          headers: bearer(alice.token),
          payload: { name: text, memberIds: [] },
        });
        const searchAnswer = await t.app.inject({ method: 'GET', url: `/api/users?query=${inQuery}`, headers: bearer(alice.token) });
        const sendAnswer = await client.sendWithReceipt('/app/chat.send', { roomId, content: text }).then(
          () => 'RECEIPT',
          (error: Error) => {
            const refusal = JSON.parse(error.message.replace('SEND refused: ', '')) as { code: string; message: string };
            return `${refusal.code} "${refusal.message}"`;
          },
        );
        log.record(
          `${label} as nickname, room name, search query and message content`,
          '400 / VALIDATION naming the field; nothing stored, nothing dead-lettered (a URL cannot carry a lone surrogate: its bytes decode to U+FFFD, a plain search)',
          `signup ${describeAnswer(signupAnswer)}; group ${describeAnswer(roomAnswer)}; search ${describeAnswer(searchAnswer)}; SEND ${sendAnswer}`,
        );
        expectCleanError(signupAnswer, 400);
        expectCleanError(roomAnswer, 400);
        expect(searchAnswer.statusCode, searchAnswer.body).toBeLessThan(500);
        expect(sendAnswer).toMatch(/^VALIDATION "content: /);
      }
    } finally {
      await client.close();
    }
    await expectStillServing();
  });
});
