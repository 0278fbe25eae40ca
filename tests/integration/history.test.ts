import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';

const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '10000' });
let t: TestApp;

/** Every SQL statement the app sends while `recording` is on. */
const statements: string[] = [];
let recording = false;

let alice: SignedUpUser;
let bob: SignedUpUser;
let mallory: SignedUpUser;
let roomId: number;
/** Ids of the 250 messages of `roomId`, oldest first. */
let ids: number[];

interface Page {
  messages: { id: number; roomId: number; content: string }[];
  hasMore: boolean;
  nextCursor: number | null;
}

beforeAll(async () => {
  t = await startTestApp(isolation, {
    listen: false,
    overrides: {
      onQuery: (query) => {
        if (recording) statements.push(query);
      },
    },
  });
  alice = await signup(t.app, { nickname: 'Alice' });
  bob = await signup(t.app, { nickname: 'Bob' });
  mallory = await signup(t.app, { nickname: 'Mallory' });
  roomId = await openDirect(alice, bob);
  ids = await insertMessages(roomId, [alice.userId, bob.userId], 250);
  // Messages in a room next door must never leak into this one's pages.
  const neighbour = await openDirect(alice, mallory);
  await insertMessages(neighbour, [alice.userId, mallory.userId], 30);
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function openDirect(user: SignedUpUser, other: SignedUpUser): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(user.token),
    payload: { targetUserId: other.userId },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().roomId;
}

/** Inserts `count` messages straight into the table, senders taking turns; returns their ids, oldest first. */
async function insertMessages(room: number, senders: number[], count: number): Promise<number[]> {
  const { sql } = t.app.deps.database;
  const rows = await sql<{ id: number }[]>`
    insert into messages (message_key, room_id, sender_id, content, created_at)
    select gen_random_uuid(), ${room}, (${sql.array(senders, 20)}::bigint[])[1 + n % ${senders.length}],
           'message ' || n, now() + n * interval '1 millisecond'
    from generate_series(1, ${count}) as n
    order by n
    returning id`;
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

const history = (user: SignedUpUser | null, query = '', room: number | string = roomId) =>
  t.app.inject({ method: 'GET', url: `/api/rooms/${room}/messages${query}`, headers: user ? bearer(user.token) : {} });

async function page(user: SignedUpUser, query: string): Promise<Page> {
  const response = await history(user, query);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

describe('GET /api/rooms/{roomId}/messages', () => {
  it('should return the 20 newest messages, newest first, with every field', async () => {
    const first = await page(bob, '');
    expect(first.messages.map((message) => message.id)).toEqual(ids.slice(-20).reverse());
    expect(first.hasMore).toBe(true);
    expect(first.nextCursor).toBe(ids.at(-20));

    const [row] = await t.app.deps.database.sql<{ messageKey: string; senderId: number }[]>`
      select message_key as "messageKey", sender_id as "senderId" from messages where id = ${ids.at(-1)!}`;
    expect(first.messages[0]).toEqual({
      id: ids.at(-1),
      messageKey: row!.messageKey,
      roomId,
      senderId: row!.senderId,
      senderNickname: row!.senderId === alice.userId ? 'Alice' : 'Bob',
      content: 'message 250',
      type: 'TEXT',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it.each([1, 20, 25, 50, 99, 100])(
    'should return each of 250 messages exactly once, in order, paging by cursor with size %i',
    async (size) => {
      const seen: number[] = [];
      let cursor: number | null = null;
      let pages = 0;
      for (;;) {
        const current: Page = await page(alice, `?size=${size}${cursor === null ? '' : `&cursor=${cursor}`}`);
        pages += 1;
        seen.push(...current.messages.map((message) => message.id));
        expect(current.messages.every((message) => message.roomId === roomId)).toBe(true);
        if (!current.hasMore) {
          expect(current.nextCursor).toBeNull();
          break;
        }
        expect(current.nextCursor).toBe(seen.at(-1));
        cursor = current.nextCursor;
      }
      expect(seen).toEqual([...ids].reverse());
      expect(pages).toBe(Math.ceil(250 / size));
    },
  );

  it('should return exactly the newer messages, oldest first, with after', async () => {
    const after = ids[199]!;
    const seen: number[] = [];
    let next: number = after;
    const sizes: number[] = [];
    for (;;) {
      const current: Page = await page(bob, `?after=${next}&size=20`);
      sizes.push(current.messages.length);
      seen.push(...current.messages.map((message) => message.id));
      if (!current.hasMore) {
        expect(current.nextCursor).toBeNull();
        break;
      }
      next = current.nextCursor!;
    }
    expect(sizes).toEqual([20, 20, 10]);
    expect(seen).toEqual(ids.slice(200));
  });

  it('should return nothing newer than the newest message', async () => {
    expect(await page(bob, `?after=${ids.at(-1)}`)).toEqual({ messages: [], hasMore: false, nextCursor: null });
  });

  it('should return an empty page for a room without messages', async () => {
    const carol = await signup(t.app);
    const empty = await openDirect(alice, carol);
    const response = await history(carol, '', empty);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ messages: [], hasMore: false, nextCursor: null });
  });

  it('should answer a cursor older than every message with an empty last page', async () => {
    expect(await page(alice, `?cursor=${ids[0]}`)).toEqual({ messages: [], hasMore: false, nextCursor: null });
  });

  it.each([
    ['size=0', 'size'],
    ['size=101', 'size'],
    ['size=abc', 'size'],
    ['size=1e1', 'size'],
    ['cursor=abc', 'cursor'],
    ['cursor=0', 'cursor'],
    ['cursor=-5', 'cursor'],
    ['cursor=1e3', 'cursor'],
    ['after=0x10', 'after'],
    ['cursor=5&after=3', 'after'],
  ])('should return 400 naming the parameter for ?%s', async (query, field) => {
    const body = expectError(await history(alice, `?${query}`), 400, `/api/rooms/${roomId}/messages`);
    expect(body.message).toContain(field);
  });

  it.each(['abc', '0', '-1', '1e3', '0x10', '1.0'])('should return 400 naming roomId for the path id %s', async (id) => {
    const body = expectError(await history(alice, '', id), 400, `/api/rooms/${id}/messages`);
    expect(body.message).toContain('roomId');
  });

  it('should return 404 for an unknown room', async () => {
    expectError(await history(alice, '', 987_654_321), 404, '/api/rooms/987654321/messages');
  });

  it('should return 401 without a token', async () => {
    expectError(await history(null), 401, `/api/rooms/${roomId}/messages`);
  });
});

describe('members only', () => {
  it('should let a non-member read neither the room, its members, nor its history', async () => {
    const room = await t.app.inject({ method: 'GET', url: `/api/rooms/${roomId}`, headers: bearer(mallory.token) });
    expectError(room, 403, `/api/rooms/${roomId}`);
    expect(room.body).not.toMatch(/Alice|Bob/);

    for (const query of ['', `?cursor=${ids.at(-1)}`, `?after=${ids[0]}`]) {
      const response = await history(mallory, query);
      expectError(response, 403, `/api/rooms/${roomId}/messages`);
      expect(response.body).not.toContain('message ');
    }

    const listed = await t.app.inject({ method: 'GET', url: '/api/rooms', headers: bearer(mallory.token) });
    expect(listed.json().map((entry: { roomId: number }) => entry.roomId)).not.toContain(roomId);
  });
});

describe('query plans on a table with 100k rows', () => {
  let big: number;
  beforeAll(async () => {
    const { sql } = t.app.deps.database;
    big = await openDirect(alice, await signup(t.app));
    // 100k rows over 50 rooms, as in a real table: a room filter is then selective and the planner
    // must choose between the (room_id, id desc) index and walking the primary key backwards.
    await sql`
      insert into messages (message_key, room_id, sender_id, content)
      select gen_random_uuid(), ${big}, ${alice.userId}, 'bulk ' || n from generate_series(1, 2000) as n`;
    await sql`
      with rooms as (
        insert into chat_rooms (type, name, created_by)
        select 'GROUP', 'bulk ' || n, ${alice.userId} from generate_series(1, 49) as n
        returning id)
      insert into messages (message_key, room_id, sender_id, content)
      select gen_random_uuid(), rooms.id, ${alice.userId}, 'bulk ' || n from rooms cross join generate_series(1, 2000) as n`;
    await sql`analyze messages`;
  });

  it('should serve the history query, both directions, from the (room_id, id desc) index', async () => {
    const { sql } = t.app.deps.database;
    const [{ n: total } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from messages`;
    expect(total).toBeGreaterThanOrEqual(100_000);
    const [{ id: middle } = { id: 0 }] = await sql<{ id: number }[]>`
      select id from messages where room_id = ${big} order by id offset 1000 limit 1`;

    // Explain the very statements the route sent, so the test follows the code, not a copy of it.
    const capture = async (query: string) => {
      statements.length = 0;
      recording = true;
      try {
        const response = await history(alice, query, big);
        expect(response.statusCode).toBe(200);
        expect(response.json().messages).toHaveLength(20);
      } finally {
        recording = false;
      }
      const statement = statements.find((text) => /from messages m/.test(text));
      expect(statement, statements.join('\n')).toBeDefined();
      return statement!;
    };
    const plan = async (statement: string, parameters: number[]) => {
      const rows = await sql.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${statement}`, parameters);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    };

    const plans = [
      await plan(await capture(''), [big, 21]),
      await plan(await capture(`?cursor=${middle}`), [big, middle, 21]),
      await plan(await capture(`?after=${middle}`), [big, middle, 21]),
    ];
    for (const text of plans) {
      expect(text, text).toMatch(/Index Scan (Backward )?using messages_room_id_id_desc_idx on messages/);
      expect(text).not.toMatch(/Seq Scan on messages/);
    }
  });

  it("should find each listed room's last message through the same index", async () => {
    statements.length = 0;
    recording = true;
    try {
      expect((await t.app.inject({ method: 'GET', url: '/api/rooms', headers: bearer(alice.token) })).statusCode).toBe(200);
    } finally {
      recording = false;
    }
    const statement = statements.find((text) => /left join lateral/.test(text));
    expect(statement, statements.join('\n')).toBeDefined();
    const rows = await t.app.deps.database.sql.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${statement}`, [alice.userId]);
    const text = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(text, text).toMatch(/Index Scan using messages_room_id_id_desc_idx on messages/);
    expect(text).not.toMatch(/Seq Scan on messages/);
  });
});
