import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSharedRateLimiter } from '../../src/rate-limit/shared-window-limiter.js';
import { createRedis, type RedisClient } from '../../src/redis/redis-client.js';
import { findNginx } from '../../scripts/lib/binaries.mjs';
import { startNginx, type RunningNginx } from '../../scripts/scale-out.js';
import { bearer, signup } from '../helpers/http.js';
import { requestFrom } from '../helpers/loopback-client.js';
import { portFree } from '../helpers/process-group.js';
import { DEAD_PORT, serviceUrls, uniqueSuffix } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 11: the SEND and login limits hold across instances. Two instances share one
 * Redis (and key prefix); a user spread over both gets the limit once. While Redis is away each
 * instance falls back to its own window, and an already-limited key never reaches Redis at all.
 */
const nginxBinary = findNginx();
const log = pino({ level: 'silent' });
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '10', AUTH_RATE_LIMIT_PER_MINUTE: '5' });
const apps: TestApp[] = [];
const clients: TestStompClient[] = [];
const redisClients: RedisClient[] = [];
let nginx: RunningNginx | undefined;
let prefixDir: string | undefined;

beforeAll(async () => {
  apps.push(await startTestApp(isolation, { env: { INSTANCE_ID: 'limit-a', TRUST_PROXY: '127.0.0.1' } }));
  apps.push(await startTestApp(isolation, { env: { INSTANCE_ID: 'limit-b', TRUST_PROXY: '127.0.0.1', MIGRATE_ON_START: 'false' } }));
  if (nginxBinary) {
    prefixDir = mkdtempSync(join(tmpdir(), 'chat-nginx-'));
    let port = 0;
    for (let candidate = 20_000 + Math.floor(Math.random() * 10_000); !port; candidate += 1)
      if (await portFree(candidate)) port = candidate;
    const upstreams = apps.map((app) => new URL(app.baseUrl).host) as [string, string];
    nginx = await startNginx({ port, upstreams, prefixDir, quiet: true });
  }
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  await Promise.all(redisClients.map((client) => (client.isOpen ? client.close() : undefined)?.catch(() => {})));
  await nginx?.stop();
  if (prefixDir) rmSync(prefixDir, { recursive: true, force: true });
  for (const app of apps) await app.close();
  await cleanupTestEnv(isolation, apps[0]?.app);
});

async function redisAt(url: string, connectNow = true): Promise<RedisClient> {
  const client = createRedis(url, log, `limit-test-${uniqueSuffix()}`);
  redisClients.push(client);
  if (connectNow) await client.connect();
  else client.connect().catch(() => {});
  return client;
}

describe('SEND limit across instances', () => {
  it.skipIf(!nginxBinary)(
    "should RECEIPT about 10, not 20, of one user's 30 SENDs in one second spread over two instances behind nginx",
    async () => {
      const proxy = `http://127.0.0.1:${nginx!.port}`;
      const alice = await signup(apps[0]!.app);
      const bob = await signup(apps[0]!.app);
      const room = await apps[0]!.app.inject({
        method: 'POST',
        url: '/api/rooms/direct',
        headers: bearer(alice.token),
        payload: { targetUserId: bob.userId },
      });
      const roomId = room.json().roomId as number;

      // One session of the same user on each instance, through nginx (round robin; asked, not assumed).
      const onInstance: (TestStompClient | undefined)[] = [undefined, undefined];
      for (let attempt = 0; attempt < 8 && onInstance.includes(undefined); attempt += 1) {
        const before = apps.map((app) => app.app.realtime.sessions.size);
        const client = await connectStomp(proxy, alice.token);
        clients.push(client);
        const grown = await waitFor(() => apps.findIndex((app, index) => app.app.realtime.sessions.size > before[index]!) + 1, {
          what: 'the instance of the new session',
        });
        onInstance[grown - 1] ??= client;
      }
      const sessions = onInstance.filter((client): client is TestStompClient => client !== undefined);
      expect(sessions).toHaveLength(2);
      for (const client of sessions) await client.subscribe('/user/queue/errors');
      const refusals = () => sessions.flatMap((client) => client.received('/user/queue/errors'));

      let receipts = 0;
      const startedAt = Date.now();
      for (let index = 0; index < 30; index += 1) {
        const client = sessions[index % sessions.length]!;
        const receipt = `limit-${index}`;
        client.client.watchForReceipt(receipt, () => {
          receipts += 1;
        });
        client.client.publish({
          destination: '/app/chat.send',
          body: JSON.stringify({ roomId, content: `burst ${index}` }),
          headers: { receipt },
        });
      }
      await waitFor(() => receipts + refusals().length >= 30, { timeoutMs: 20_000, what: '30 SENDs answered' });
      const spanMs = Date.now() - startedAt;
      expect(spanMs).toBeLessThan(1_000);
      expect(receipts).toBeGreaterThanOrEqual(10);
      expect(receipts).toBeLessThanOrEqual(11);
      expect(refusals().every((message) => /rate limit/.test(message.body))).toBe(true);
      console.info(
        `shared SEND limit: ${receipts} RECEIPTs, ${refusals().length} refused, for 30 SENDs alternating over 2 instances in ${spanMs} ms`,
      );
    },
  );
});

describe('login limit across instances', () => {
  it('should allow one address 5 logins in all, not 5 per instance, when it alternates between two instances', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const app = apps[attempt % 2]!;
      const response = await requestFrom('127.0.0.6', `${app.baseUrl}/api/auth/login`, {
        json: { email: `nobody_${uniqueSuffix()}@example.com`, password: 'wrong horse battery' },
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429, 429, 429]);
  });
});

/** A TCP relay to the shared Redis that can stop passing bytes on, as a Redis that hangs does. */
async function stallableRedis(): Promise<{ url: string; stall(): void; resume(): void; close(): Promise<void> }> {
  const target = new URL(serviceUrls.redis);
  const sockets = new Set<Socket>();
  let stalled = false;
  const server: Server = createServer((incoming) => {
    const outgoing = connect({ host: target.hostname, port: Number(target.port || 6379) });
    for (const socket of [incoming, outgoing]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
    if (stalled) incoming.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    stall() {
      stalled = true;
      // Stop reading what clients send: their commands wait in the kernel, unanswered.
      for (const socket of sockets) if (socket.remotePort !== Number(target.port || 6379)) socket.pause();
    },
    resume() {
      stalled = false;
      for (const socket of sockets) socket.resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('shared sliding-window limiter', () => {
  const options = { limit: 10, windowMs: 1_000, log };

  it('should count the events of two instances in one window', async () => {
    const redis = await redisAt(serviceUrls.redis);
    const keyPrefix = `t_${uniqueSuffix()}:`;
    let now = 1_000_000;
    const instances = [0, 1].map(() => createSharedRateLimiter({ ...options, name: 'send', redis, keyPrefix, now: () => now }));
    const allowed: boolean[] = [];
    for (let event = 0; event < 30; event += 1) allowed.push((await instances[event % 2]!.acquire(42)).allowed);
    expect(allowed.filter(Boolean)).toHaveLength(10);
    // The window slides: a second later there is room again.
    now += 1_000;
    expect((await instances[1]!.acquire(42)).allowed).toBe(true);
  });

  it('should refuse a key that is already limited without asking Redis', async () => {
    const redis = await redisAt(serviceUrls.redis);
    let scriptCalls = 0;
    const counted = {
      get isReady() {
        return redis.isReady;
      },
      evalSha: ((...args: Parameters<RedisClient['evalSha']>) => {
        scriptCalls += 1;
        return redis.evalSha(...args);
      }) as RedisClient['evalSha'],
      eval: ((...args: Parameters<RedisClient['eval']>) => {
        scriptCalls += 1;
        return redis.eval(...args);
      }) as RedisClient['eval'],
    };
    const keyPrefix = `t_${uniqueSuffix()}:`;
    const now = () => 5_000_000;
    const other = createSharedRateLimiter({ ...options, name: 'send', redis, keyPrefix, now });
    for (let event = 0; event < 10; event += 1) await other.acquire('u');
    const limiter = createSharedRateLimiter({ ...options, name: 'send', redis: counted, keyPrefix, now });
    const first = await limiter.acquire('u');
    expect(first).toMatchObject({ allowed: false });
    expect(first.resetMs).toBeGreaterThan(0);
    expect(scriptCalls).toBe(1);
    for (let attempt = 0; attempt < 50; attempt += 1) expect((await limiter.acquire('u')).allowed).toBe(false);
    expect(scriptCalls).toBe(1);
  });

  it('should fall back to its own window while Redis cannot be reached', async () => {
    const unreachable = await redisAt(`redis://127.0.0.1:${DEAD_PORT}`, false);
    let now = 9_000_000;
    const limiter = createSharedRateLimiter({ ...options, name: 'send', redis: unreachable, keyPrefix: 'unused:', now: () => now });
    const allowed: boolean[] = [];
    for (let event = 0; event < 30; event += 1) allowed.push((await limiter.acquire(7)).allowed);
    expect(allowed.filter(Boolean)).toHaveLength(10);
    now += 1_000;
    expect((await limiter.acquire(7)).allowed).toBe(true);
  });

  it('should fall back within its timeout while Redis hangs, and share the window again once it answers', async () => {
    const relay = await stallableRedis();
    try {
      const redis = await redisAt(relay.url);
      const keyPrefix = `t_${uniqueSuffix()}:`;
      let now = 20_000_000;
      const limiter = createSharedRateLimiter({
        ...options,
        name: 'send',
        redis,
        keyPrefix,
        now: () => now,
        redisTimeoutMs: 100,
        redisRetryMs: 500,
      });
      expect((await limiter.acquire('h')).allowed).toBe(true);

      relay.stall();
      const startedAt = Date.now();
      const during: boolean[] = [];
      for (let event = 0; event < 15; event += 1) during.push((await limiter.acquire('h')).allowed);
      // One SEND waited out the timeout; the rest went straight to the local window.
      expect(Date.now() - startedAt).toBeLessThan(1_000);
      expect(during.filter(Boolean)).toHaveLength(9);

      relay.resume();
      now += 2_000;
      // Another instance's events count again once Redis answers.
      const other = createSharedRateLimiter({ ...options, name: 'send', redis, keyPrefix, now: () => now });
      for (let event = 0; event < 10; event += 1) await other.acquire('h');
      expect(await waitFor(async () => !(await limiter.acquire('h')).allowed, { what: 'the shared window to count again' })).toBe(true);
    } finally {
      relay.resume();
      await relay.close();
    }
  });
});
