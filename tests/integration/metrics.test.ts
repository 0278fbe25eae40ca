import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicSpecs } from '../../src/kafka/topics.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { bearer, expectError, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '4', CONSUMER_RETRY_BACKOFF_MS: '50' });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];
const SENT = 4;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition (enough of it for these assertions). */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const partitionsOf = (topic: string) => topicSpecs(t.app.deps.topics).find((spec) => spec.topic === topic)!.numPartitions;
const pick = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  pick(samples, name, labels).reduce((sum, sample) => sum + sample.value, 0);

async function scrape(): Promise<Sample[]> {
  const response = await t.app.inject({ method: 'GET', url: '/actuator/prometheus' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(response.body);
}

beforeAll(async () => {
  t = await startTestApp(isolation);
  alice = await signup(t.app);
  bob = await signup(t.app);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode).toBe(201);
  roomId = room.json().roomId;

  // Traffic every metric below should reflect: two subscribers, a few SENDs, one over the rate
  // limit, and one poison record that both consumer groups dead-letter.
  const a = await connectStomp(t.baseUrl, alice.token);
  const b = await connectStomp(t.baseUrl, bob.token);
  clients.push(a, b);
  const topic = `/topic/room.${roomId}`;
  await a.subscribe(topic);
  await b.subscribe(topic);
  await a.subscribe('/user/queue/errors');
  // All in one burst, so exactly the one past the limit is refused however slow the machine is.
  const receipts = new Set<string>();
  for (let i = 0; i <= SENT; i += 1) {
    a.client.watchForReceipt(`burst-${i}`, () => receipts.add(`burst-${i}`));
    a.client.publish({
      destination: '/app/chat.send',
      body: JSON.stringify({ roomId, content: `metric ${i}` }),
      headers: { receipt: `burst-${i}` },
    });
  }
  await waitFor(() => receipts.size === SENT && a.received('/user/queue/errors').length === 1, {
    what: 'receipts and one rate-limit notice',
  });
  expect(a.received('/user/queue/errors')[0]!.body).toMatch(/rate limit/);
  await waitFor(() => a.received(topic).length === SENT && b.received(topic).length === SENT, { what: 'deliveries' });
  await t.app.deps.producer.send({ topic: t.app.deps.topics.messages, messages: [{ key: String(roomId), value: 'not json' }] });
  await t.app.deps.producer.send({ topic: t.app.deps.topics.readReceipts, messages: [{ key: String(roomId), value: 'not json' }] });
  await waitFor(async () => total(await scrape(), 'chat_kafka_dead_letters_total') === 3, {
    what: 'three dead letters',
    timeoutMs: 15_000,
  });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

describe('GET /actuator/prometheus', () => {
  it('should expose connections, frames by command and rejections by reason after traffic', async () => {
    const samples = await scrape();
    expect(total(samples, 'chat_websocket_connections')).toBe(2);
    expect(total(samples, 'chat_stomp_sessions')).toBe(2);
    expect(total(samples, 'chat_stomp_connects_total')).toBe(2);
    expect(total(samples, 'chat_stomp_frames_total', { direction: 'in', command: 'CONNECT' })).toBe(2);
    expect(total(samples, 'chat_stomp_frames_total', { direction: 'in', command: 'SEND' })).toBe(SENT + 1);
    expect(total(samples, 'chat_stomp_frames_total', { direction: 'out', command: 'CONNECTED' })).toBe(2);
    expect(total(samples, 'chat_stomp_frames_total', { direction: 'out', command: 'RECEIPT' })).toBe(SENT + 3);
    // SENT messages to two subscribers, plus the rate-limit notice on /user/queue/errors.
    expect(total(samples, 'chat_stomp_frames_total', { direction: 'out', command: 'MESSAGE' })).toBe(SENT * 2 + 1);
    expect(total(samples, 'chat_stomp_rejections_total', { reason: 'rate_limited' })).toBe(1);
  });

  it('should expose produce and end-to-end delivery latency histograms with plausible values', async () => {
    const samples = await scrape();
    expect(total(samples, 'chat_kafka_produce_duration_seconds_count')).toBe(SENT);
    const produceMean = total(samples, 'chat_kafka_produce_duration_seconds_sum') / SENT;
    expect(produceMean).toBeGreaterThan(0);
    expect(produceMean).toBeLessThan(5);
    expect(total(samples, 'chat_kafka_produce_duration_seconds_bucket', { le: '+Inf' })).toBe(SENT);

    // One observation per message per instance, however many local subscribers it had.
    expect(total(samples, 'chat_delivery_latency_seconds_count')).toBe(SENT);
    const deliveryMean = total(samples, 'chat_delivery_latency_seconds_sum') / SENT;
    expect(deliveryMean).toBeGreaterThan(0);
    expect(deliveryMean).toBeLessThan(5);
  });

  it('should expose consumer lag per group and owned partition, zero once everything is processed', async () => {
    const groups = [`${isolation.env.KAFKA_GROUP_PREFIX}chat-persistence`, `${isolation.env.KAFKA_GROUP_PREFIX}chat-broadcast`];
    const receiptsGroup = `${isolation.env.KAFKA_GROUP_PREFIX}chat-read-receipts`;
    const expectedSeries = 2 * partitionsOf(t.app.deps.topics.messages) + partitionsOf(t.app.deps.topics.readReceipts);
    await waitFor(
      async () => {
        const lag = pick(await scrape(), 'chat_kafka_consumer_lag');
        return lag.length === expectedSeries && lag.every((sample) => sample.value === 0);
      },
      { what: `zero lag on ${expectedSeries} partitions of the three groups` },
    );
    const lag = pick(await scrape(), 'chat_kafka_consumer_lag');
    for (const group of groups) {
      expect(
        lag
          .filter((sample) => sample.labels.group === group)
          .map((sample) => Number(sample.labels.partition))
          .sort(),
      ).toEqual([0, 1, 2, 3, 4, 5]);
      expect(new Set(lag.filter((sample) => sample.labels.group === group).map((sample) => sample.labels.topic))).toEqual(
        new Set([t.app.deps.topics.messages]),
      );
    }
    expect(
      lag
        .filter((sample) => sample.labels.group === receiptsGroup)
        .every((sample) => sample.labels.topic === t.app.deps.topics.readReceipts),
    ).toBe(true);
    // SENT chat messages and the poison record went through both groups.
    for (const group of groups) expect(total(await scrape(), 'chat_kafka_records_processed_total', { group })).toBe(SENT + 1);
  });

  it('should count dead letters per group', async () => {
    const samples = await scrape();
    for (const group of ['chat-persistence', 'chat-broadcast']) {
      expect(
        total(samples, 'chat_kafka_dead_letters_total', {
          group: `${isolation.env.KAFKA_GROUP_PREFIX}${group}`,
          topic: t.app.deps.topics.messages,
        }),
      ).toBe(1);
    }
    expect(
      total(samples, 'chat_kafka_dead_letters_total', {
        group: `${isolation.env.KAFKA_GROUP_PREFIX}chat-read-receipts`,
        topic: t.app.deps.topics.readReceipts,
      }),
    ).toBe(1);
  });

  it('should time HTTP requests by route pattern and status, and include default process metrics', async () => {
    await t.app.inject({ method: 'GET', url: `/api/rooms/${roomId}`, headers: bearer(alice.token) });
    const samples = await scrape();
    expect(
      total(samples, 'chat_http_request_duration_seconds_count', { method: 'POST', route: '/api/auth/signup', status_code: '201' }),
    ).toBe(2);
    expect(
      total(samples, 'chat_http_request_duration_seconds_count', { method: 'GET', route: '/api/rooms/:roomId', status_code: '200' }),
    ).toBe(1);
    expect(pick(samples, 'chat_http_request_duration_seconds_count').some((sample) => sample.labels.route?.includes(String(roomId)))).toBe(
      false,
    );
    expect(total(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(total(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('should keep each instance in its own registry, so two apps in one process do not clash', async () => {
    const other = createMetrics();
    other.onProduced(12);
    const text = await other.render();
    expect(total(parsePrometheus(text), 'chat_kafka_produce_duration_seconds_count')).toBe(1);
    expect(total(await scrape(), 'chat_kafka_produce_duration_seconds_count')).toBe(SENT);
  });
});

describe('GET /actuator/info and /actuator/metrics', () => {
  it.each(['/actuator/info', '/actuator/metrics', '/actuator/metrics/chat_stomp_frames_total'])(
    'should answer 401 on %s without a token',
    async (url) => {
      expectError(await t.app.inject({ method: 'GET', url }), 401, url);
    },
  );

  it('should describe the build, the instance and the partitions it owns', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/actuator/info', headers: bearer(alice.token) });
    expect(response.statusCode).toBe(200);
    const info = response.json();
    expect(info).toMatchObject({
      name: 'chat-backend',
      version: '0.1.0',
      instanceId: t.config.INSTANCE_ID,
      websocket: { open: 2, connected: 2 },
    });
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(info.startedAt)).toBeLessThanOrEqual(Date.now());
    const all = (topic: string) => Array.from({ length: partitionsOf(topic) }, (_, index) => index);
    expect(info.kafka.consumers).toEqual([
      {
        group: `${isolation.env.KAFKA_GROUP_PREFIX}chat-persistence`,
        topic: t.app.deps.topics.messages,
        partitions: all(t.app.deps.topics.messages),
      },
      {
        group: `${isolation.env.KAFKA_GROUP_PREFIX}chat-broadcast`,
        topic: t.app.deps.topics.messages,
        partitions: all(t.app.deps.topics.messages),
      },
      {
        group: `${isolation.env.KAFKA_GROUP_PREFIX}chat-read-receipts`,
        topic: t.app.deps.topics.readReceipts,
        partitions: all(t.app.deps.topics.readReceipts),
      },
    ]);
  });

  it('should summarise the metrics as JSON and give one metric in full by name', async () => {
    const summary = await t.app.inject({ method: 'GET', url: '/actuator/metrics', headers: bearer(alice.token) });
    expect(summary.statusCode).toBe(200);
    const body = summary.json();
    expect(body.names).toContain('chat_stomp_frames_total');
    expect(body.names).toContain('process_cpu_user_seconds_total');
    expect(body.summary.chat_websocket_connections).toBe(2);
    expect(body.summary.chat_kafka_produce_duration_seconds).toEqual({ count: SENT, mean: expect.any(Number) });

    const one = await t.app.inject({ method: 'GET', url: '/actuator/metrics/chat_stomp_frames_total', headers: bearer(alice.token) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ name: 'chat_stomp_frames_total', type: 'counter' });
    expect(one.json().measurements).toContainEqual({ labels: { direction: 'in', command: 'SEND' }, value: SENT + 1 });

    const missing = `/actuator/metrics/no_such_metric_${randomUUID().slice(0, 4)}`;
    expectError(await t.app.inject({ method: 'GET', url: missing, headers: bearer(alice.token) }), 404, missing);
  });
});
