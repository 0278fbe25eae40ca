import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';

const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '10000' });
let t: TestApp;

/** Every SQL statement the app sends while `recording` is on. */
const statements: string[] = [];
let recording = false;

beforeAll(async () => {
  t = await startTestApp(isolation, {
    listen: false,
    overrides: {
      onQuery: (query) => {
        if (recording) statements.push(query);
      },
    },
  });
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

type Method = 'GET' | 'POST';
const call = (user: SignedUpUser | null, method: Method, url: string, payload?: object) =>
  t.app.inject({ method, url, headers: user ? bearer(user.token) : {}, ...(payload ? { payload } : {}) });

const openDirect = (user: SignedUpUser, target: number) => call(user, 'POST', '/api/rooms/direct', { targetUserId: target });
const createGroup = (user: SignedUpUser, name: string, memberIds: number[]) => call(user, 'POST', '/api/rooms/group', { name, memberIds });

async function groupId(user: SignedUpUser, name: string, memberIds: number[]): Promise<number> {
  const response = await createGroup(user, name, memberIds);
  expect(response.statusCode, response.body).toBe(201);
  return response.json().roomId;
}

async function insertMessage(roomId: number, senderId: number, content: string, minutesFromNow: number): Promise<number> {
  const [row] = await t.app.deps.database.sql<{ id: number }[]>`
    insert into messages (message_key, room_id, sender_id, content, created_at)
    values (gen_random_uuid(), ${roomId}, ${senderId}, ${content}, now() + ${minutesFromNow} * interval '1 minute')
    returning id`;
  return row!.id;
}

const member = (user: SignedUpUser) => ({ userId: user.userId, nickname: user.nickname });
/** A member in the room's own view also carries their unread count there (the Spring version's MemberInfo). */
const roomMember = (user: SignedUpUser, unreadCount = 0) => ({ ...member(user), unreadCount });
const byUserId = (a: { userId: number }, b: { userId: number }) => a.userId - b.userId;

describe('POST /api/rooms/direct', () => {
  let alice: SignedUpUser;
  let bob: SignedUpUser;
  beforeAll(async () => {
    alice = await signup(t.app, { nickname: 'Alice' });
    bob = await signup(t.app, { nickname: 'Bob' });
  });

  it('should create a DIRECT room holding both users and answer 201', async () => {
    const response = await openDirect(alice, bob.userId);
    expect(response.statusCode, response.body).toBe(201);
    const room = response.json();
    expect(room).toEqual({
      id: room.roomId,
      roomId: expect.any(Number),
      name: 'Bob',
      type: 'DIRECT',
      createdBy: alice.userId,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      members: [roomMember(alice), roomMember(bob)].sort(byUserId),
    });
  });

  it('should answer 200 with the same room when either side asks again', async () => {
    const carol = await signup(t.app, { nickname: 'Carol' });
    const first = await openDirect(alice, carol.userId);
    expect(first.statusCode).toBe(201);

    const again = await openDirect(alice, carol.userId);
    const reverse = await openDirect(carol, alice.userId);
    expect(again.statusCode).toBe(200);
    expect(reverse.statusCode).toBe(200);
    expect(again.json().roomId).toBe(first.json().roomId);
    expect(reverse.json().roomId).toBe(first.json().roomId);
    expect(reverse.json().name).toBe('Alice');
  });

  it('should leave exactly one room after 20 concurrent requests from both sides of one pair', async () => {
    const dave = await signup(t.app);
    const erin = await signup(t.app);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? openDirect(dave, erin.userId) : openDirect(erin, dave.userId))),
    );

    const statuses = responses.map((response) => response.statusCode).sort((a, b) => a - b);
    expect(statuses).toEqual([...Array<number>(19).fill(200), 201]);
    const roomIds = new Set(responses.map((response) => response.json().roomId));
    expect(roomIds.size).toBe(1);

    const { sql } = t.app.deps.database;
    const key = `${Math.min(dave.userId, erin.userId)}:${Math.max(dave.userId, erin.userId)}`;
    const rooms = await sql<{ id: number }[]>`select id from chat_rooms where direct_key = ${key}`;
    expect(rooms.map((row) => row.id)).toEqual([...roomIds]);
    const members = await sql<{ userId: number }[]>`
      select user_id as "userId" from chat_room_members where room_id = ${rooms[0]!.id} order by user_id`;
    expect(members.map((row) => row.userId)).toEqual([dave.userId, erin.userId].sort((a, b) => a - b));
  });

  it('should return 400 for a direct room with yourself', async () => {
    const body = expectError(await openDirect(alice, alice.userId), 400, '/api/rooms/direct');
    expect(body.message).toMatch(/yourself/);
  });

  it('should return 404 for an unknown user', async () => {
    const body = expectError(await openDirect(alice, 987_654_321), 404, '/api/rooms/direct');
    expect(body.message).toContain('987654321');
  });

  it.each([
    ['a missing targetUserId', {}],
    ['a string targetUserId', { targetUserId: 'abc' }],
    ['a zero targetUserId', { targetUserId: 0 }],
    ['a fractional targetUserId', { targetUserId: 1.5 }],
  ])('should return 400 naming the field for %s', async (_case, payload) => {
    const body = expectError(await call(alice, 'POST', '/api/rooms/direct', payload), 400, '/api/rooms/direct');
    expect(body.message).toContain('targetUserId');
  });

  it('should return 401 without a token', async () => {
    expectError(await call(null, 'POST', '/api/rooms/direct', { targetUserId: bob.userId }), 401, '/api/rooms/direct');
  });
});

describe('POST /api/rooms/group', () => {
  let owner: SignedUpUser;
  let ann: SignedUpUser;
  let ben: SignedUpUser;
  beforeAll(async () => {
    owner = await signup(t.app, { nickname: 'Owner' });
    ann = await signup(t.app, { nickname: 'Ann' });
    ben = await signup(t.app, { nickname: 'Ben' });
  });

  it('should create the group with the creator as a member, collapsing duplicate ids and trimming the name', async () => {
    const response = await createGroup(owner, '  Weekend plans  ', [ann.userId, ben.userId, ann.userId, owner.userId]);
    expect(response.statusCode, response.body).toBe(201);
    const room = response.json();
    expect({ ...room, members: [...room.members].sort(byUserId) }).toEqual({
      id: room.roomId,
      roomId: expect.any(Number),
      name: 'Weekend plans',
      type: 'GROUP',
      createdBy: owner.userId,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      members: [roomMember(owner), roomMember(ann), roomMember(ben)].sort(byUserId),
    });
    const [count] = await t.app.deps.database.sql<{ n: number }[]>`
      select count(*)::int as n from chat_room_members where room_id = ${room.roomId}`;
    expect(count!.n).toBe(3);
  });

  it('should create a group holding only the creator when memberIds is empty', async () => {
    const response = await createGroup(owner, 'Notes to self', []);
    expect(response.statusCode).toBe(201);
    expect(response.json().members).toEqual([roomMember(owner)]);
  });

  it('should return 404 naming every unknown id and create nothing', async () => {
    const name = `ghosts ${Date.now()}`;
    const body = expectError(await createGroup(owner, name, [ann.userId, 900_000_001, 900_000_002]), 404, '/api/rooms/group');
    expect(body.message).toContain('900000001');
    expect(body.message).toContain('900000002');
    expect(body.message).not.toContain(String(ann.userId));
    const rooms = await t.app.deps.database.sql`select id from chat_rooms where name = ${name}`;
    expect(rooms).toHaveLength(0);
  });

  it('should return 400 when the group would exceed the member limit, counting the creator', async () => {
    const limit = t.config.MAX_GROUP_MEMBERS;
    const tooMany = Array.from({ length: limit }, (_, i) => 800_000_000 + i);
    const body = expectError(await createGroup(owner, 'Crowd', tooMany), 400, '/api/rooms/group');
    expect(body.message).toContain(String(limit));

    // One fewer fits the limit, so the answer moves on to the (unknown) ids.
    expectError(await createGroup(owner, 'Crowd', tooMany.slice(1)), 404);
  });

  it.each([
    ['an empty name', { name: '', memberIds: [] }, 'name'],
    ['a blank name', { name: '   ', memberIds: [] }, 'name'],
    ['a 101-character name', { name: 'x'.repeat(101), memberIds: [] }, 'name'],
    ['missing memberIds', { name: 'Team' }, 'memberIds'],
    ['a non-integer member id', { name: 'Team', memberIds: ['abc'] }, 'memberIds'],
    ['a negative member id', { name: 'Team', memberIds: [-3] }, 'memberIds'],
  ])('should return 400 naming the field for %s', async (_case, payload, field) => {
    const body = expectError(await call(owner, 'POST', '/api/rooms/group', payload), 400, '/api/rooms/group');
    expect(body.message).toContain(field);
  });

  it('should accept a name of exactly 100 characters', async () => {
    const response = await createGroup(owner, 'y'.repeat(100), [ann.userId]);
    expect(response.statusCode).toBe(201);
    expect(response.json().name).toBe('y'.repeat(100));
  });

  it('should return 401 without a token', async () => {
    expectError(await call(null, 'POST', '/api/rooms/group', { name: 'Team', memberIds: [] }), 401, '/api/rooms/group');
  });
});

describe('GET /api/rooms', () => {
  it("should list the caller's rooms by most recent activity with last message, members or member count, and unread count", async () => {
    const carol = await signup(t.app, { nickname: 'Carol' });
    const dave = await signup(t.app, { nickname: 'Dave' });
    const erin = await signup(t.app, { nickname: 'Erin' });
    const direct = (await openDirect(carol, dave.userId)).json().roomId as number;
    const older = await groupId(carol, 'Older group', [dave.userId, erin.userId]);
    const quiet = await groupId(erin, 'Quiet group', [carol.userId]);
    const groupMessage = await insertMessage(older, erin.userId, 'hello group', 1);
    const directMessage = await insertMessage(direct, dave.userId, 'hi carol', 2);
    const { sql } = t.app.deps.database;
    await sql`update chat_room_members set unread_count = 1 where user_id = ${carol.userId} and room_id in (${direct}, ${older})`;

    const response = await call(carol, 'GET', '/api/rooms');
    expect(response.statusCode).toBe(200);
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);
    // A bare array, as the Spring version's List<ChatRoomListResponse>; `id` beside `roomId` for its clients.
    expect(response.json()).toEqual([
      {
        id: direct,
        roomId: direct,
        name: 'Dave',
        type: 'DIRECT',
        createdAt: iso,
        memberCount: 2,
        members: [member(carol), member(dave)].sort(byUserId),
        lastMessage: { id: directMessage, content: 'hi carol', senderId: dave.userId, senderNickname: 'Dave', createdAt: iso },
        unreadCount: 1,
      },
      {
        id: older,
        roomId: older,
        name: 'Older group',
        type: 'GROUP',
        createdAt: iso,
        memberCount: 3,
        lastMessage: { id: groupMessage, content: 'hello group', senderId: erin.userId, senderNickname: 'Erin', createdAt: iso },
        unreadCount: 1,
      },
      { id: quiet, roomId: quiet, name: 'Quiet group', type: 'GROUP', createdAt: iso, memberCount: 2, lastMessage: null, unreadCount: 0 },
    ]);

    // Dave is not in the quiet group and sees Carol's name on the direct room.
    const daves = (await call(dave, 'GET', '/api/rooms')).json() as { roomId: number; name: string }[];
    expect(daves.map((room) => [room.roomId, room.name])).toEqual([
      [direct, 'Carol'],
      [older, 'Older group'],
    ]);
  });

  it('should return the last message of each room, not an older one', async () => {
    const frank = await signup(t.app);
    const room = await groupId(frank, 'Chatty', []);
    await insertMessage(room, frank.userId, 'first', 1);
    const last = await insertMessage(room, frank.userId, 'second', 2);
    const [listed] = (await call(frank, 'GET', '/api/rooms')).json();
    expect(listed.lastMessage).toMatchObject({ id: last, content: 'second' });
  });

  it('should return an empty list for a user without rooms', async () => {
    const loner = await signup(t.app);
    const response = await call(loner, 'GET', '/api/rooms');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([]);
  });

  it('should issue the same number of SQL statements for 2 rooms as for 50', async () => {
    const countStatements = async (user: SignedUpUser) => {
      statements.length = 0;
      recording = true;
      try {
        const response = await call(user, 'GET', '/api/rooms');
        expect(response.statusCode).toBe(200);
        return { rooms: (response.json() as unknown[]).length, statements: statements.length };
      } finally {
        recording = false;
      }
    };
    const roomsWithActivity = async (user: SignedUpUser, count: number) => {
      const partner = await signup(t.app);
      const direct = (await openDirect(user, partner.userId)).json().roomId as number;
      await insertMessage(direct, partner.userId, 'hi', 1);
      for (let i = 1; i < count; i += 1) {
        const room = await groupId(user, `room ${i}`, [partner.userId]);
        if (i % 2 === 0) await insertMessage(room, user.userId, `message ${i}`, 1);
      }
    };
    const few = await signup(t.app);
    const many = await signup(t.app);
    await roomsWithActivity(few, 2);
    await roomsWithActivity(many, 50);

    const small = await countStatements(few);
    const large = await countStatements(many);
    expect(small.rooms).toBe(2);
    expect(large.rooms).toBe(50);
    expect(large.statements).toBe(small.statements);
    expect(small.statements).toBeGreaterThan(0);
    expect(small.statements).toBeLessThanOrEqual(3);
  });

  it('should return 401 without a token', async () => {
    expectError(await call(null, 'GET', '/api/rooms'), 401, '/api/rooms');
  });
});

describe('GET /api/rooms/{roomId}', () => {
  let gina: SignedUpUser;
  let hank: SignedUpUser;
  let outsider: SignedUpUser;
  let roomId: number;
  beforeAll(async () => {
    gina = await signup(t.app, { nickname: 'Gina' });
    hank = await signup(t.app, { nickname: 'Hank' });
    outsider = await signup(t.app, { nickname: 'Outsider' });
    roomId = await groupId(gina, 'Book club', [hank.userId]);
  });

  it('should return the room with its members to a member', async () => {
    const response = await call(hank, 'GET', `/api/rooms/${roomId}`);
    expect(response.statusCode).toBe(200);
    const room = response.json();
    expect({ ...room, members: [...room.members].sort(byUserId) }).toEqual({
      id: roomId,
      roomId,
      name: 'Book club',
      type: 'GROUP',
      createdBy: gina.userId,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      members: [roomMember(gina), roomMember(hank)].sort(byUserId),
    });
  });

  it("should show a DIRECT room under the other member's nickname", async () => {
    const direct = (await openDirect(gina, outsider.userId)).json().roomId;
    expect((await call(gina, 'GET', `/api/rooms/${direct}`)).json().name).toBe('Outsider');
    expect((await call(outsider, 'GET', `/api/rooms/${direct}`)).json().name).toBe('Gina');
  });

  it('should return 403 for a non-member without revealing the members', async () => {
    const response = await call(outsider, 'GET', `/api/rooms/${roomId}`);
    const body = expectError(response, 403, `/api/rooms/${roomId}`);
    expect(body.message).not.toContain('Gina');
    expect(response.body).not.toContain('Hank');
  });

  it('should return 404 for an unknown room', async () => {
    expectError(await call(gina, 'GET', '/api/rooms/987654321'), 404, '/api/rooms/987654321');
  });

  it.each(['abc', '0', '-1', '1e3', '0x10', '%201', '1.5', '12345678901234567'])(
    'should return 400 naming roomId for the path id %s',
    async (id) => {
      const body = expectError(await call(gina, 'GET', `/api/rooms/${id}`), 400);
      expect(body.message).toContain('roomId');
    },
  );

  it('should return 401 without a token', async () => {
    expectError(await call(null, 'GET', `/api/rooms/${roomId}`), 401, `/api/rooms/${roomId}`);
  });
});

describe('GET /api/users', () => {
  let searcher: SignedUpUser;
  const prefix = `zq${Date.now().toString(36)}`;
  let matching: SignedUpUser[];
  beforeAll(async () => {
    searcher = await signup(t.app, { nickname: `${prefix}Searcher` });
    matching = [];
    for (let i = 0; i < 5; i += 1) matching.push(await signup(t.app, { nickname: `${prefix}Match${i}` }));
    await signup(t.app, { nickname: `x${prefix}Middle` });
  });

  const search = (query: string, extra = '') => call(searcher, 'GET', `/api/users?query=${encodeURIComponent(query)}${extra}`);

  it('should find users by nickname prefix, case-insensitively, never the caller nor a mid-word match', async () => {
    const response = await search(prefix.toUpperCase());
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.users.map((user: { id: number }) => user.id)).toEqual(matching.map((user) => user.userId));
    expect(body.users[0]).toEqual({
      id: matching[0]!.userId,
      email: matching[0]!.email,
      nickname: matching[0]!.nickname,
      status: 'OFFLINE',
      lastSeenAt: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(body.hasMore).toBe(false);
    expect(response.body).not.toMatch(/argon2|passwordHash|password_hash/);
  });

  it('should find a user by email prefix', async () => {
    const target = matching[2]!;
    const response = await search(target.email.slice(0, target.email.indexOf('@')));
    expect(response.json().users.map((user: { id: number }) => user.id)).toEqual([target.userId]);
  });

  it('should treat % and _ as literal characters', async () => {
    const response = await search('%');
    expect(response.statusCode).toBe(200);
    expect(response.json().users).toEqual([]);
  });

  it('should page through the matches with cursor, each user exactly once', async () => {
    const seen: number[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const response = await search(prefix, `&size=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body: { users: { id: number }[]; hasMore: boolean; nextCursor: number | null } = response.json();
      seen.push(...body.users.map((user) => user.id));
      pages += 1;
      cursor = body.hasMore ? body.nextCursor : null;
      if (!body.hasMore) expect(body.nextCursor).toBeNull();
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(matching.map((user) => user.userId));
  });

  it.each(['0', '101', 'abc'])('should return 400 naming size for size=%s', async (size) => {
    const body = expectError(await search(prefix, `&size=${size}`), 400, '/api/users');
    expect(body.message).toContain('size');
  });

  it('should return 401 without a token', async () => {
    expectError(await call(null, 'GET', '/api/users?query=a'), 401, '/api/users');
  });
});

describe('OpenAPI document', () => {
  it('should serve the UI at /docs', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
  });

  it('should list every /api route with tags, summary and its bearer security at /docs/json', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });

    const operations = Object.entries(
      document.paths as Record<string, Record<string, { tags?: string[]; summary?: string; security?: unknown }>>,
    )
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, path, operation })),
      );
    expect(operations.map((op) => op.route)).toEqual(
      expect.arrayContaining([
        'POST /api/auth/signup',
        'POST /api/auth/login',
        'GET /api/users/me',
        'GET /api/users',
        'POST /api/rooms/direct',
        'POST /api/rooms/group',
        'GET /api/rooms',
        'GET /api/rooms/{roomId}',
        'GET /api/rooms/{roomId}/messages',
      ]),
    );
    for (const { route, path, operation } of operations) {
      expect(operation.tags?.length, route).toBeGreaterThan(0);
      expect(operation.summary, route).toBeTruthy();
      const expected = path.startsWith('/api/auth/') ? undefined : [{ bearerAuth: [] }];
      expect(operation.security, route).toEqual(expected);
    }
  });

  it('should document path ids and history paging parameters from the zod schemas', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const history = document.paths['/api/rooms/{roomId}/messages'].get;
    const parameters = history.parameters as { name: string; in: string; schema: { pattern?: string } }[];
    expect(parameters.map((parameter) => `${parameter.in}:${parameter.name}`).sort()).toEqual(
      ['path:roomId', 'query:after', 'query:cursor', 'query:size'].sort(),
    );
    const roomId = parameters.find((parameter) => parameter.name === 'roomId');
    expect(roomId?.schema.pattern).toBe('^[1-9]\\d{0,15}$');
  });
});
