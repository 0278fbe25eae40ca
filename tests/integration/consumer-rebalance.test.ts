import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerRunner, type ConsumedRecord, type ConsumerRunner } from '../../src/kafka/consumer-runner.js';
import { createKafka, type Kafka, type Producer } from '../../src/kafka/kafka-client.js';
import { serviceUrls, uniqueSuffix } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 5: a clean handover of partitions between two members of one group, under
 * traffic, must hand no record to the group twice. Two runners share a group on a 6-partition
 * topic of their own while a producer keeps writing; the second member joins, then leaves
 * cleanly. Every record handled is counted by (partition, offset): a duplicate is a record some
 * member handled although the group had already finished it.
 *
 * The broker is the real one; only the commit latency of a loaded or remote broker is added
 * (each commit leaves 150 ms late). On loopback a commit is back within a millisecond, and the
 * race a late commit loses (it lands after the next owner read the committed offsets) would
 * hardly ever show.
 */

const suffix = uniqueSuffix();
const topic = `t_${suffix}.rebalance`;
const groupId = `t_${suffix}.rebalance-group`;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  kafka = createKafka({ brokers: serviceUrls.kafka.split(','), clientId: `rebalance-${suffix}`, log });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: -1 }] });
  await admin.disconnect();
  producer = kafka.producer({ 'linger.ms': 5, kafkaJS: { idempotent: true, acks: -1 } });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => {});
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic], timeout: 5_000 });
  } catch {
    // A leftover test topic is harmless: every run uses a fresh name.
  } finally {
    await admin.disconnect().catch(() => {});
  }
});

/** The commit latency of a loaded broker or a remote one: every offset commit leaves 150 ms late. */
const COMMIT_DELAY_MS = 150;

function withSlowCommits(real: Kafka): Kafka {
  return {
    consumer(config: Parameters<Kafka['consumer']>[0]) {
      const consumer = real.consumer(config);
      const commit = consumer.commitOffsets.bind(consumer);
      consumer.commitOffsets = async (offsets) => {
        await new Promise((resolve) => setTimeout(resolve, COMMIT_DELAY_MS));
        return commit(offsets);
      };
      return consumer;
    },
  } as Kafka;
}

interface Handling {
  member: string;
  partition: number;
  offset: string;
  phase: string;
}

describe('consumer group handover', () => {
  it('should hand no record twice when a member joins and when a member leaves cleanly, under traffic', async () => {
    const handled: Handling[] = [];
    let phase = 'alone';
    const member = (name: string): ConsumerRunner =>
      createConsumerRunner({
        kafka: withSlowCommits(kafka),
        producer,
        groupId,
        topic,
        dltTopic: `${topic}.dlt`,
        log: log.child({ member: name }),
        retryAttempts: 0,
        retryBackoffMs: 10,
        concurrency: 2,
        maxBatchSize: 50,
        handler: {
          async handleBatch(records: ConsumedRecord[]) {
            // Work that takes a while, as a database transaction does: a batch is nearly always
            // in hand when the group rebalances.
            await new Promise((resolve) => setTimeout(resolve, 15));
            for (const record of records) handled.push({ member: name, partition: record.partition, offset: record.offset, phase });
          },
        },
      });

    let produced = 0;
    let producing = true;
    const traffic = (async () => {
      while (producing) {
        const messages = Array.from({ length: 10 }, () => {
          produced += 1;
          return { key: `room-${produced % 60}`, value: String(produced) };
        });
        await producer.send({ topic, messages });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    const a = member('a');
    const b = member('b');
    try {
      await a.start();
      await waitFor(() => handled.length >= 300, { timeoutMs: 30_000, what: 'member a handling traffic' });

      phase = 'b joins';
      await b.start();
      await waitFor(() => b.assignment().length > 0 && a.assignment().length > 0 && a.assignment().length < 6, {
        timeoutMs: 30_000,
        what: 'the partitions split between a and b',
      });
      const handledByB = () => handled.filter((entry) => entry.member === 'b').length;
      await waitFor(() => handledByB() >= 100, { timeoutMs: 30_000, what: 'member b handling traffic' });

      phase = 'b leaves';
      await b.stop();
      await waitFor(() => a.assignment().length === 6, { timeoutMs: 30_000, what: 'member a owning every partition again' });
      const before = handled.length;
      await waitFor(() => handled.length >= before + 300, { timeoutMs: 30_000, what: 'member a handling traffic after b left' });
    } finally {
      producing = false;
      await traffic;
    }

    const distinct = () => new Set(handled.map((entry) => `${entry.partition}:${entry.offset}`)).size;
    await waitFor(() => distinct() >= produced, { timeoutMs: 30_000, what: `all ${produced} records handled (have ${distinct()})` });
    await a.stop();

    const seen = new Set<string>();
    const duplicates: Handling[] = [];
    for (const entry of handled) {
      const id = `${entry.partition}:${entry.offset}`;
      if (seen.has(id)) duplicates.push(entry);
      seen.add(id);
    }
    const byPhase = Object.fromEntries(
      ['b joins', 'b leaves'].map((name) => [name, duplicates.filter((entry) => entry.phase === name).length]),
    );
    console.info(`[consumer-rebalance] produced ${produced}, handled ${handled.length}, duplicates ${JSON.stringify(byPhase)}`);
    expect(distinct()).toBe(produced);
    expect(duplicates).toEqual([]);
  });
});
