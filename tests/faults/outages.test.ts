import { mkdirSync, writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../helpers/app-process.js';
import {
  auditPhase,
  groupLag,
  topicRecordCount,
  unreadMismatches,
  waitUntilDelivered,
  waitUntilQuiet,
  waitUntilStored,
  type PhaseFigures,
} from '../helpers/fault-audit.js';
import { startPrivateStack, type PrivateStack } from '../helpers/fault-stack.js';
import { api, createChatWorld, Endpoints, Traffic, Watcher, type ChatWorld, type SentMessage } from '../helpers/fault-traffic.js';
import { testEnv } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 10: steady traffic (200 SENDs/s with RECEIPTs over 20 rooms, two app processes) while the
 * things it depends on fail one after the other: the Kafka broker is SIGKILLed and comes back
 * after 10 s, Redis restarts, PostgreSQL restarts, and one app instance is SIGKILLed.
 *
 * The services are private to this file (tests/helpers/fault-stack.ts): other suites keep using
 * the shared ones undisturbed. After each fault, with traffic stopped and every SEND answered:
 * every RECEIPTed message is in PostgreSQL exactly once and in its room's send order, every
 * watcher connected throughout got each one live, a watcher that lost its instance got the rest
 * through `?after=`, unread counts match the rows, nothing was dead-lettered and both consumer
 * groups are back to zero lag.
 *
 * FAULTS_LONG=1 (npm run test:faults:long) keeps the traffic running longer around each fault.
 * Every phase's figures go to test-results/faults/outages.json and docs/reliability.md.
 */
const LONG = process.env.FAULTS_LONG === '1';
const RATE = 200;
const ROOMS = 20;
/** Traffic before each fault, and after recovery, in messages (at RATE per second). */
const WARM_UP = RATE * (LONG ? 20 : 3);
const COOL_DOWN = RATE * (LONG ? 30 : 3);
const KAFKA_DOWN_MS = 10_000;
const REDIS_DOWN_MS = LONG ? 10_000 : 4_000;
const POSTGRES_DOWN_MS = LONG ? 10_000 : 4_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

let stack: PrivateStack;
let sql: postgres.Sql;
const apps: AppProcess[] = [];
let endpoints: Endpoints;
let world: ChatWorld;
let traffic: Traffic;
let watchers: Watcher[] = [];
let topics: { messages: string; dlt: string; groups: string[] };
const report: { variant: string; rate: number; rooms: number; phases: (PhaseFigures & Record<string, unknown>)[] } = {
  variant: LONG ? 'long' : 'short',
  rate: RATE,
  rooms: ROOMS,
  phases: [],
};

beforeAll(async () => {
  stack = await startPrivateStack();
  const isolation = testEnv({
    RATE_LIMIT_MESSAGES_PER_SECOND: '1000',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  });
  const database = `chat_faults_${isolation.suffix}`;
  const databaseUrl = stack.urls.database(database);
  const env: Record<string, string> = {
    ...isolation.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: stack.urls.redis,
    KAFKA_BROKERS: stack.urls.kafka,
  };
  sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  const prefix = env.KAFKA_TOPIC_PREFIX!;
  topics = {
    messages: `${prefix}chat.messages`,
    dlt: `${prefix}chat.messages.dlt`,
    groups: [`${env.KAFKA_GROUP_PREFIX}chat-persistence`, `${env.KAFKA_GROUP_PREFIX}chat-broadcast`],
  };
  // One first, so the database and topics exist before the second races for them.
  apps.push(await startAppProcess({ env: { ...env, INSTANCE_ID: 'app-a' }, name: 'app-a' }));
  apps.push(await startAppProcess({ env: { ...env, INSTANCE_ID: 'app-b' }, name: 'app-b' }));
  endpoints = new Endpoints(apps.map((app) => app.baseUrl));
  world = await createChatWorld(apps[0]!.baseUrl, { rooms: ROOMS, tag: isolation.suffix });
  const roomIds = world.rooms.map((room) => room.roomId);
  // Watcher i stays on instance i while it lives; after that on a survivor.
  watchers = [0, 1].map((index) => new Watcher(`watcher on app-${'ab'[index]}`, world.watcher, roomIds, () => endpoints.for(index)));
  for (const watcher of watchers) watcher.start();
  await waitFor(() => watchers.every((watcher) => watcher.isReady), { timeoutMs: 20_000, what: 'watchers subscribed' });
  traffic = new Traffic(world, endpoints, RATE);
  await traffic.connect();
}, 180_000);

afterAll(async () => {
  await traffic?.stop();
  await Promise.all(watchers.map((watcher) => watcher.stop()));
  await Promise.all(apps.map((app) => app.stop(15_000)));
  await sql?.end({ timeout: 5 });
  await stack?.stop();
  mkdirSync('test-results/faults', { recursive: true });
  writeFileSync(`test-results/faults/outages${LONG ? '-long' : ''}.json`, `${JSON.stringify(report, null, 2)}\n`);
}, 120_000);

const receiptedSince = (phase: string, since: number) =>
  traffic.messages(phase).filter((message) => message.state === 'receipted' && message.sentAt >= since).length;

/** Lets the traffic run until `count` more of this phase's SENDs got RECEIPTs. */
async function trafficFor(phase: string, count: number, what: string): Promise<void> {
  const since = Date.now();
  await waitFor(() => receiptedSince(phase, since) >= count, { timeoutMs: 30_000 + (count / RATE) * 3_000, intervalMs: 100, what });
}

/** Keeps a dependency down for `ms` while the traffic runs; `meanwhile` is polled during it. */
async function outage(ms: number, meanwhile?: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  await waitFor(
    async () => {
      await meanwhile?.();
      return Date.now() >= until;
    },
    { timeoutMs: ms + 30_000, intervalMs: 250, what: `an outage of ${ms} ms` },
  );
}

/**
 * Runs one phase of traffic around `fault`, then checks the whole promise for the phase's
 * messages and records its figures.
 */
async function phase(name: string, fault: () => Promise<Record<string, unknown>>): Promise<PhaseFigures & Record<string, unknown>> {
  await Promise.all(watchers.filter((watcher) => watcher.isReady).map((watcher) => watcher.checkpoint()));
  const from = Date.now();
  traffic.run(name);
  await trafficFor(name, WARM_UP, `${name}: warm-up traffic`);
  const observed = await fault();
  await trafficFor(name, COOL_DOWN, `${name}: traffic after recovery`);
  traffic.pause();
  // The producer gives up on a record after 15 s (message.timeout.ms): every SEND is answered by then.
  await traffic.settle(30_000);
  const to = Date.now();
  const messages = traffic.messages(name);
  await waitUntilStored(sql, messages, 60_000);
  await waitUntilDelivered(watchers, messages, 30_000);
  await waitUntilQuiet(sql, messages, 1_500, 30_000);
  const figures = await auditPhase(sql, name, messages, watchers, { from, to });
  const survivor = endpoints.for(0);
  const lag: Record<string, number> = {};
  for (const group of topics.groups) {
    await waitFor(async () => (lag[group] = await groupLag(stack.urls.kafka, group, topics.messages)) === 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: `${group} lag back to 0`,
    }).catch(() => {});
  }
  // A rejection nobody handled is logged and survived (src/main.ts), but it is still a bug: the
  // fault must be met by code that expected it.
  const unhandled = apps.flatMap((app) =>
    app.logs
      .filter((line) => line.msg === 'unhandled promise rejection' || (line.level ?? 0) >= 60)
      .map((line) => `${app.name}: ${line.text}`),
  );
  const result = {
    ...figures,
    ...observed,
    unhandled,
    unreadMismatches: await unreadMismatches(sql, survivor, world.watcher),
    deadLetters: await topicRecordCount(stack.urls.kafka, topics.dlt),
    consumerLag: lag,
    durationMs: to - from,
  };
  report.phases.push(result);
  console.info(`fault ${name}: ${JSON.stringify(result)}`);
  return result;
}

/** The promise every phase must keep, whatever failed. */
function expectNothingAcknowledgedLost(result: PhaseFigures & Record<string, unknown>): void {
  expect(result.receipted).toBeGreaterThan(0);
  expect({ lost: result.lost, duplicated: result.duplicated, outOfOrder: result.outOfOrder }).toEqual({
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
  });
  for (const [name, delivery] of Object.entries(result.delivered)) {
    expect({ watcher: name, missing: delivery.missing, outOfOrder: delivery.outOfOrder }).toEqual({
      watcher: name,
      missing: 0,
      outOfOrder: 0,
    });
    // Connected throughout means every message came live; history is only for those who reconnected.
    if (delivery.connectedThroughout) expect({ watcher: name, live: delivery.live }).toEqual({ watcher: name, live: result.receipted });
  }
  expect(result.unreadMismatches).toEqual([]);
  expect(result.unhandled).toEqual([]);
  expect(result.deadLetters).toBe(0);
  expect(result.consumerLag).toEqual(Object.fromEntries(topics.groups.map((group) => [group, 0])));
}

const sentBetween = (messages: SentMessage[], from: number, to: number) =>
  messages.filter((message) => message.sentAt >= from && message.sentAt < to);

describe('faults under steady traffic (private PostgreSQL, Redis and Kafka; two app processes)', () => {
  it('should lose no RECEIPTed message when the Kafka broker is SIGKILLed and restarted 10 s later, and resume by itself', async () => {
    const name = 'kafka-sigkill';
    const marks = { killedAt: 0, restartedAt: 0, readyAt: 0, resumedAt: 0 };
    const result = await phase(name, async () => {
      marks.killedAt = Date.now();
      await stack.kafka.stop('crash');
      await outage(KAFKA_DOWN_MS);
      marks.restartedAt = Date.now();
      await stack.kafka.start();
      marks.readyAt = Date.now();
      // Nobody restarts anything in the app: its producer and consumers find the broker again.
      await waitFor(() => receiptedSince(name, marks.readyAt) > 0, {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: 'a RECEIPT for a SEND made after the broker came back',
      });
      marks.resumedAt = Date.now();
      return {};
    });
    const duringOutage = sentBetween(traffic.messages(name), marks.killedAt, marks.readyAt);
    const early = duringOutage.filter((message) => message.state === 'receipted' && message.answeredAt! < marks.restartedAt);
    Object.assign(result, {
      brokerDownMs: marks.readyAt - marks.killedAt,
      resumedAfterReadyMs: marks.resumedAt - marks.readyAt,
      sentDuringOutage: duringOutage.length,
      duringOutage: {
        lateReceipts: duringOutage.filter((message) => message.state === 'receipted').length,
        errors: duringOutage.filter((message) => message.state === 'refused').length,
        unanswered: duringOutage.filter((message) => message.state === 'unanswered').length,
      },
    });
    console.info(
      `fault ${name} window: ${JSON.stringify(result.duringOutage)}, broker down ${result.brokerDownMs} ms, resumed ${result.resumedAfterReadyMs} ms after it answered`,
    );
    expectNothingAcknowledgedLost(result);
    expect(duringOutage.length).toBeGreaterThan(0);
    // A RECEIPT means Kafka has it: none can come while no broker runs.
    expect(early).toEqual([]);
    // The connections stayed up: every SEND of the outage got an answer, a late RECEIPT or an error.
    expect(result.unanswered).toBe(0);
    expect(Object.keys(result.refused).filter((code) => code !== 'UNAVAILABLE')).toEqual([]);
  });

  it('should resume live delivery by itself when Redis restarts, answer history meanwhile and keep unread counts right', async () => {
    const name = 'redis-restart';
    const history = { ok: 0, failed: [] as string[] };
    const result = await phase(name, async () => {
      const downAt = Date.now();
      await stack.redis.stop();
      await outage(REDIS_DOWN_MS, async () => {
        // History and rooms (with unread counts) come from PostgreSQL; Redis is only a cache there.
        for (const baseUrl of endpoints.list()) {
          for (const path of [`/api/rooms/${world.rooms[0]!.roomId}/messages?size=5`, '/api/rooms']) {
            try {
              await api(baseUrl, 'GET', path, { token: world.watcher.token });
              history.ok += 1;
            } catch (error) {
              history.failed.push((error as Error).message);
            }
          }
        }
      });
      await stack.redis.start();
      const upAt = Date.now();
      await waitFor(
        () =>
          watchers.every((watcher) =>
            watcher.live.some(
              (delivery) =>
                delivery.at > upAt &&
                traffic.messages(name).some((message) => message.messageKey === delivery.messageKey && message.sentAt > upAt),
            ),
          ),
        { timeoutMs: 30_000, intervalMs: 100, what: 'live delivery of a message sent after Redis came back, to both watchers' },
      );
      return {
        redisDownMs: upAt - downAt,
        liveAgainAfterMs: Date.now() - upAt,
        historyAnsweredDuringOutage: history.ok,
        historyFailedDuringOutage: history.failed.length,
      };
    });
    expect(history.failed).toEqual([]);
    expect(history.ok).toBeGreaterThan(0);
    expectNothingAcknowledgedLost(result);
  });

  it('should catch up persistence after PostgreSQL restarts, with nothing dead-lettered and no row twice', async () => {
    const name = 'postgres-restart';
    const result = await phase(name, async () => {
      const downAt = Date.now();
      await stack.postgres.stop(LONG ? 'crash' : 'graceful');
      await outage(POSTGRES_DOWN_MS);
      await stack.postgres.start();
      return { postgresDownMs: Date.now() - downAt, postgresStop: LONG ? 'immediate (crash recovery)' : 'fast' };
    });
    expectNothingAcknowledgedLost(result);
  });

  it("should move a SIGKILLed instance's partitions to the other, whose clients reconnect and fill their gap through ?after=", async () => {
    const name = 'app-sigkill';
    const [victim, survivor] = [apps[0]!, apps[1]!];
    const result = await phase(name, async () => {
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      endpoints.remove(victim.baseUrl);
      const info = () =>
        api<{ kafka: { consumers: { group: string; partitions: number[] }[] } }>(survivor.baseUrl, 'GET', '/actuator/info', {
          token: world.watcher.token,
        });
      await waitFor(
        async () =>
          (await info()).kafka.consumers
            .filter((consumer) => topics.groups.includes(consumer.group))
            .every((consumer) => consumer.partitions.length === 6),
        { timeoutMs: 40_000, intervalMs: 250, what: 'every chat.messages partition of both groups on the survivor' },
      );
      const takenOverMs = Date.now() - killedAt;
      await waitFor(() => watchers[0]!.connects >= 2 && watchers[0]!.isReady, {
        timeoutMs: 20_000,
        what: 'the watcher of the killed instance reconnected',
      });
      await waitFor(() => traffic.senders.every((sender) => sender.isReady), { timeoutMs: 20_000, what: 'every sender connected again' });
      const resubscribedAt = watchers[0]!.readyAt.find((at) => at > killedAt)!;
      return { partitionsMovedAfterMs: takenOverMs, watcherResubscribedAfterMs: resubscribedAt - killedAt };
    });
    expectNothingAcknowledgedLost(result);
    const moved = result.delivered[watchers[0]!.name]!;
    expect(moved.connectedThroughout).toBe(false);
    expect(moved.filledFromHistory).toBeGreaterThan(0);
    expect(watchers[0]!.gapFills).toBeGreaterThan(0);
  });
});
