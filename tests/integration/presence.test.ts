import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { uniqueSuffix } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Two instances in one process share one isolation (database, Redis prefix, topics, groups), as
 * two replicas behind nginx do. A short TTL and sweep interval let expiry show in seconds.
 */
const TTL_SECONDS = 3;
const SWEEP_MS = 200;
const isolation = testEnv({ PRESENCE_TTL_SECONDS: String(TTL_SECONDS), PRESENCE_SWEEP_INTERVAL_MS: String(SWEEP_MS) });
const prefix = isolation.env.REDIS_KEY_PREFIX!;
let one: TestApp;
let two: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let carol: SignedUpUser;
let roomId: number;
/** Bob watches /topic/presence from instance 2 throughout. */
let observer: TestStompClient;
const clients: TestStompClient[] = [];

interface PresenceEvent {
  userId: number;
  status: 'ONLINE' | 'OFFLINE';
  timestamp: number;
}

beforeAll(async () => {
  one = await startTestApp(isolation, { env: { INSTANCE_ID: 'node-1' } });
  two = await startTestApp(isolation, { env: { INSTANCE_ID: 'node-2' } });
  [alice, bob, carol] = await Promise.all([signup(one.app), signup(one.app), signup(two.app)]);
  const room = await one.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode, room.body).toBe(201);
  roomId = room.json().roomId;
  observer = await connect(two, bob);
  await observer.subscribe('/topic/presence');
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([one?.close(), two?.close()]);
  await cleanupTestEnv(isolation, one?.app);
});

async function connect(t: TestApp | { baseUrl: string }, user: SignedUpUser): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  clients.push(client);
  return client;
}

const eventsFor = (user: SignedUpUser) => observer.bodies<PresenceEvent>('/topic/presence').filter((event) => event.userId === user.userId);
const statusesFor = (user: SignedUpUser, from = 0) =>
  eventsFor(user)
    .slice(from)
    .map((event) => event.status);

async function onlineIn(t: TestApp, room: number, asUser: SignedUpUser): Promise<number[]> {
  const response = await t.app.inject({ method: 'GET', url: `/api/rooms/${room}/members/online`, headers: bearer(asUser.token) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

async function databaseStatus(user: SignedUpUser) {
  const [row] = await one.app.deps.database.sql<{ status: string; lastSeenAt: string | null }[]>`
    select status, last_seen_at as "lastSeenAt" from users where id = ${user.userId}`;
  return row!;
}

const redis = () => one.app.deps.redis;

/** Redis's clock, which every presence decision uses. */
async function redisNowMs(): Promise<number> {
  const [seconds, micros] = (await redis().sendCommand(['TIME'])) as [string, string];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The user's connections, on any instance, whose expiry has not passed. */
const liveConnections = async (user: SignedUpUser) =>
  redis().zCount(`${prefix}presence:connections:${user.userId}`, await redisNowMs(), '+inf');

describe('presence across instances', () => {
  it('should show a user connected to instance 1 as online from instance 2, on /topic/presence and in the online list', async () => {
    const before = eventsFor(alice).length;
    const connectedAt = Date.now();
    const tab = await connect(one, alice);
    await waitFor(() => statusesFor(alice, before).length === 1, { what: 'ONLINE on instance 2' });
    const arrivedAt = Date.now();
    const [event] = eventsFor(alice).slice(before);
    // Epoch milliseconds, as the Spring version's PresenceEvent: `Date.now() - timestamp` works.
    expect(event).toEqual({ userId: alice.userId, status: 'ONLINE', timestamp: expect.any(Number) });
    expect(Number.isInteger(event!.timestamp)).toBe(true);
    expect(event!.timestamp).toBeGreaterThanOrEqual(connectedAt - 1_000);
    expect(event!.timestamp).toBeLessThanOrEqual(arrivedAt + 1_000);

    expect(await onlineIn(two, roomId, bob)).toEqual([alice.userId, bob.userId].sort((a, b) => a - b));
    expect(await redis().exists(`${prefix}user:presence:${alice.userId}`)).toBe(1);
    const ttl = await redis().pTTL(`${prefix}user:presence:${alice.userId}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_SECONDS * 1000);
    expect(await databaseStatus(alice)).toMatchObject({ status: 'ONLINE', lastSeenAt: expect.anything() });

    await tab.close();
    await waitFor(() => statusesFor(alice, before).length === 2, { what: 'OFFLINE' });
    expect(statusesFor(alice, before)).toEqual(['ONLINE', 'OFFLINE']);
    expect(await onlineIn(two, roomId, bob)).toEqual([bob.userId]);
  });

  it('should keep a user with two tabs online when one closes, and publish OFFLINE once when both have', async () => {
    const before = eventsFor(alice).length;
    const tabOnOne = await connect(one, alice);
    const tabOnTwo = await connect(two, alice);
    await waitFor(async () => (await liveConnections(alice)) === 2, { what: 'two live connections' });

    await tabOnOne.close();
    await waitFor(async () => (await liveConnections(alice)) === 1, { what: 'first tab gone' });
    expect(await onlineIn(one, roomId, bob)).toContain(alice.userId);
    expect((await databaseStatus(alice)).status).toBe('ONLINE');

    await tabOnTwo.close();
    await waitFor(() => statusesFor(alice, before).includes('OFFLINE'), { what: 'OFFLINE after the last tab' });
    expect((await databaseStatus(alice)).status).toBe('OFFLINE');

    // Carol's events come after alice's on the same channel: once they are in, nothing about
    // alice is still on its way, and nothing is left in Redis for a sweep to act on.
    const carolBefore = eventsFor(carol).length;
    const sentinel = await connect(one, carol);
    await sentinel.close();
    await waitFor(() => statusesFor(carol, carolBefore).length === 2, { what: "carol's ONLINE and OFFLINE" });
    expect(statusesFor(alice, before)).toEqual(['ONLINE', 'OFFLINE']);
    expect(await redis().exists(`${prefix}presence:connections:${alice.userId}`)).toBe(0);
    expect(await redis().zScore(`${prefix}presence:expiries`, String(alice.userId))).toBeNull();
    expect(await onlineIn(two, roomId, bob)).toEqual([bob.userId]);
  });

  it('should keep a connected user online past the TTL because live connections refresh it', async () => {
    const before = eventsFor(alice).length;
    const tab = await connect(one, alice);
    await waitFor(() => statusesFor(alice, before).length === 1, { what: 'ONLINE' });
    const firstExpiry = Number(await redis().zScore(`${prefix}presence:expiries`, String(alice.userId)));
    expect(firstExpiry).toBeGreaterThan(0);

    await waitFor(async () => (await redisNowMs()) > firstExpiry + 2 * SWEEP_MS, {
      timeoutMs: TTL_SECONDS * 1000 + 5_000,
      what: 'the first expiry to pass',
    });
    expect(await onlineIn(two, roomId, bob)).toContain(alice.userId);
    expect(Number(await redis().zScore(`${prefix}presence:expiries`, String(alice.userId)))).toBeGreaterThan(firstExpiry);
    expect(statusesFor(alice, before)).toEqual(['ONLINE']);
    await tab.close();
    await waitFor(() => statusesFor(alice, before).length === 2, { what: 'OFFLINE' });
  });

  it('should answer 403 to a non-member and 404 for an unknown room on the online list', async () => {
    expectError(
      await one.app.inject({ method: 'GET', url: `/api/rooms/${roomId}/members/online`, headers: bearer(carol.token) }),
      403,
      `/api/rooms/${roomId}/members/online`,
    );
    expectError(await one.app.inject({ method: 'GET', url: '/api/rooms/987654321/members/online', headers: bearer(carol.token) }), 404);
    expectError(await one.app.inject({ method: 'GET', url: `/api/rooms/${roomId}/members/online` }), 401);
  });

  it('should turn the users of an instance killed without closing its sockets OFFLINE within the TTL, and keep their tabs elsewhere online', async () => {
    const dave = await signup(one.app);
    const erin = await signup(one.app);
    const daveRoom = (
      await one.app.inject({ method: 'POST', url: '/api/rooms/direct', headers: bearer(bob.token), payload: { targetUserId: dave.userId } })
    ).json().roomId as number;
    const erinRoom = (
      await one.app.inject({ method: 'POST', url: '/api/rooms/direct', headers: bearer(bob.token), payload: { targetUserId: erin.userId } })
    ).json().roomId as number;

    // The doomed instance shares the database and Redis prefix; its Kafka topics and groups are
    // its own, so its death does not stall the consumer groups of the instances that survive.
    const kafkaPrefix = `t_${uniqueSuffix()}.`;
    const doomed = await startInstanceProcess({
      ...isolation.env,
      INSTANCE_ID: 'doomed',
      MIGRATE_ON_START: 'false',
      KAFKA_TOPIC_PREFIX: kafkaPrefix,
      KAFKA_GROUP_PREFIX: kafkaPrefix,
    });
    try {
      await connect(doomed, dave);
      await connect(doomed, erin);
      await connect(two, erin);
      await waitFor(() => statusesFor(dave).includes('ONLINE') && statusesFor(erin).includes('ONLINE'), {
        what: 'ONLINE from the doomed instance',
      });
      expect(await onlineIn(one, daveRoom, bob)).toContain(dave.userId);
      expect(await liveConnections(erin)).toBe(2);

      doomed.process.kill('SIGKILL');
      const killedAt = Date.now();
      await doomed.exited;

      await waitFor(() => statusesFor(dave).includes('OFFLINE'), { timeoutMs: TTL_SECONDS * 1000 + 3_000, what: 'OFFLINE after the TTL' });
      const tookMs = Date.now() - killedAt;
      // The TTL runs from the last refresh, before the kill, and a sweep follows within SWEEP_MS;
      // the rest is slack for timers on a loaded 2-core CI machine.
      expect(tookMs).toBeLessThanOrEqual(TTL_SECONDS * 1000 + SWEEP_MS + 800);
      expect(statusesFor(dave)).toEqual(['ONLINE', 'OFFLINE']);
      expect((await databaseStatus(dave)).status).toBe('OFFLINE');
      expect(await onlineIn(one, daveRoom, bob)).toEqual([bob.userId]);

      // Erin's tab on instance 2 lives on while the dead instance's connection lapses on its own
      // (her connect there came a moment after dave's, so its expiry may be a moment later too).
      await waitFor(async () => (await liveConnections(erin)) === 1, {
        timeoutMs: TTL_SECONDS * 1000,
        what: "erin's dead connection lapsed",
      });
      expect(statusesFor(erin)).toEqual(['ONLINE']);
      expect(await onlineIn(two, erinRoom, bob)).toContain(erin.userId);
      console.info(
        `presence: a killed instance's user went OFFLINE ${tookMs} ms after SIGKILL (TTL ${TTL_SECONDS} s, sweep ${SWEEP_MS} ms)`,
      );
    } finally {
      doomed.process.kill('SIGKILL');
      await doomed.exited;
      const admin = one.app.deps.kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: topicSpecs(topicNames(kafkaPrefix)).map((spec) => spec.topic), timeout: 5_000 }).catch(() => {});
      await admin.disconnect();
    }
  });
});

/** The app as a real process (the production entry through tsx), so it can die without closing anything. */
async function startInstanceProcess(
  env: Record<string, string>,
): Promise<{ process: ChildProcess; baseUrl: string; exited: Promise<void> }> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env, LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  let baseUrl: string | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    baseUrl ??= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`instance exited during start-up:\n${output.slice(-2_000)}`);
        return baseUrl;
      },
      { timeoutMs: 40_000, what: 'child instance listening' },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { process: child, baseUrl: baseUrl!, exited };
}
