import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/logger.js';
import type { Admin } from '../../../src/kafka/kafka-client.js';
import { createTopicKeeper, isUnknownTopicError, type KeptConsumer } from '../../../src/kafka/topic-keeper.js';
import { topicNames, topicSpecs } from '../../../src/kafka/topics.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * The keeper's decisions on a broker that answers from a table: what it retires, creates and
 * renews, and when. The real broker cases are in tests/integration/kafka-topics-lost.test.ts and
 * tests/faults/deployment.test.ts.
 */

const topics = topicNames('unit.');
const names = topicSpecs(topics).map((spec) => spec.topic);
const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

function fakeBroker() {
  const ids = new Map(names.map((name, index) => [name, BigInt(index + 1)]));
  let nextId = 100n;
  const created: string[][] = [];
  const admin = {
    async listTopics() {
      return [...ids.keys()];
    },
    async fetchTopicMetadata({ topics: asked }: { topics: string[] }) {
      return asked.map((name) => ({ name, topicId: { mostSignificantBits: ids.get(name)!, leastSignificantBits: 0n }, partitions: [] }));
    },
    async createTopics({ topics: specs }: { topics: { topic: string }[] }) {
      created.push(specs.map((spec) => spec.topic));
      for (const spec of specs) ids.set(spec.topic, (nextId += 1n));
      return true;
    },
  } as unknown as Admin;
  return {
    admin,
    created,
    lose: (name: string) => ids.delete(name),
    recreate: (name: string) => ids.set(name, (nextId += 1n)),
  };
}

function fakeConsumer(topic: string, options: { failRenewals?: number } = {}) {
  const calls: string[] = [];
  let failures = options.failRenewals ?? 0;
  const consumer: KeptConsumer = {
    topic,
    async retire() {
      calls.push('retire');
    },
    async renew() {
      calls.push('renew');
      if (failures > 0) {
        failures -= 1;
        throw new Error('broker away');
      }
    },
  };
  return { consumer, calls };
}

describe('topic keeper', () => {
  it('should retire the consumers of a missing topic at once, create it after the grace and renew them', async () => {
    const broker = fakeBroker();
    const messages = fakeConsumer(topics.messages);
    const receipts = fakeConsumer(topics.readReceipts);
    const keeper = createTopicKeeper({ admin: broker.admin, topics, log: silent, intervalMs: 60_000, graceMs: 200 });
    keeper.keep(messages.consumer);
    keeper.keep(receipts.consumer);
    await keeper.start();
    expect(broker.created).toEqual([]);

    broker.lose(topics.messages);
    const lostAt = Date.now();
    await keeper.look();
    expect(messages.calls).toEqual(['retire']);
    expect(broker.created).toEqual([]);

    await waitFor(() => broker.created.length === 1, { timeoutMs: 5_000, what: 'the topic created' });
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(200);
    expect(broker.created).toEqual([[topics.messages]]);
    await waitFor(() => messages.calls.length === 2, { what: 'the renewal' });
    expect(messages.calls).toEqual(['retire', 'renew']);
    expect(receipts.calls).toEqual([]);
    await keeper.stop();
  });

  it('should renew the consumers of a topic whose id changed between two looks, creating nothing', async () => {
    const broker = fakeBroker();
    const receipts = fakeConsumer(topics.readReceipts);
    const keeper = createTopicKeeper({ admin: broker.admin, topics, log: silent, intervalMs: 60_000 });
    keeper.keep(receipts.consumer);
    await keeper.start();
    broker.recreate(topics.readReceipts);
    await keeper.look();
    expect(receipts.calls).toEqual(['renew']);
    expect(broker.created).toEqual([]);
    await keeper.look();
    expect(receipts.calls).toEqual(['renew']);
    await keeper.stop();
  });

  it('should try a failed renewal again at the next look', async () => {
    const broker = fakeBroker();
    const messages = fakeConsumer(topics.messages, { failRenewals: 1 });
    const keeper = createTopicKeeper({ admin: broker.admin, topics, log: silent, intervalMs: 60_000, graceMs: 0 });
    keeper.keep(messages.consumer);
    await keeper.start();
    broker.lose(topics.messages);
    await keeper.look();
    expect(messages.calls).toEqual(['retire', 'renew']);
    await keeper.look();
    expect(messages.calls).toEqual(['retire', 'renew', 'renew']);
    await keeper.look();
    expect(messages.calls).toEqual(['retire', 'renew', 'renew']);
    await keeper.stop();
  });

  it("should recognise librdkafka's unknown-topic errors, local and from the broker", () => {
    expect(isUnknownTopicError(Object.assign(new Error('Local: Unknown topic'), { code: -188 }))).toBe(true);
    expect(isUnknownTopicError(Object.assign(new Error('Broker: Unknown topic or partition'), { code: 3 }))).toBe(true);
    expect(isUnknownTopicError(Object.assign(new Error('Local: Message timed out'), { code: -192 }))).toBe(false);
  });
});
