import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import { serviceUrls } from './services.js';
import { waitFor } from './wait.js';

/**
 * Direct access to the test broker, beside the app: produce records the app did not write
 * (duplicates, poison) and read topics the app only writes (dead letters). Every client here is
 * closed by the test that opened it.
 */
export function testKafka(): KafkaJS.Kafka {
  return testKafkaAt(serviceUrls.kafka);
}

/** The same against other brokers (a private broker of the fault tests). */
export function testKafkaAt(brokers: string): KafkaJS.Kafka {
  return new KafkaJS.Kafka({
    kafkaJS: { brokers: brokers.split(','), clientId: `test-${randomUUID().slice(0, 8)}`, logLevel: KafkaJS.logLevel.NOTHING },
  });
}

export interface RawProducer {
  /** Produces and waits for the broker's acknowledgement. */
  send(
    topic: string,
    message: { key: string; value: string | Buffer; partition?: number; headers?: Record<string, string> },
  ): Promise<void>;
  close(): Promise<void>;
}

/** A producer configured like the app's (idempotent, acks=all), for records a test writes itself. */
export async function rawProducer(kafka = testKafka()): Promise<RawProducer> {
  const producer = kafka.producer({ 'linger.ms': 0, kafkaJS: { idempotent: true, acks: -1 } });
  await producer.connect();
  return {
    async send(topic, message) {
      await producer.send({ topic, messages: [message] });
    },
    close: () => producer.disconnect(),
  };
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

export interface TopicReader {
  records: ReadRecord[];
  /** Waits until `count` records have been read. */
  waitForCount(count: number, timeoutMs?: number): Promise<ReadRecord[]>;
  close(): Promise<void>;
}

/** Reads `topic` from the beginning in a group of its own; header values as text. */
export async function readTopic(topic: string, kafka = testKafka()): Promise<TopicReader> {
  const records: ReadRecord[] = [];
  const consumer = kafka.consumer({
    'fetch.wait.max.ms': 10,
    kafkaJS: { groupId: `test-reader-${randomUUID()}`, fromBeginning: true, autoCommit: false },
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      records.push({
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString() : null,
        value: message.value ? message.value.toString() : null,
        headers: Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(Array.isArray(value) ? value[0] : value)]),
        ),
      });
    },
  });
  return {
    records,
    async waitForCount(count, timeoutMs = 20_000) {
      await waitFor(() => records.length >= count, { timeoutMs, what: `${count} records on ${topic} (have ${records.length})` });
      return records;
    },
    close: () => consumer.disconnect(),
  };
}

/** Deletes the topics an isolation's KAFKA_TOPIC_PREFIX created; for tests that have no in-process app. */
export async function deleteTestTopics(topicPrefix: string, kafka = testKafka()): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: topicSpecs(topicNames(topicPrefix)).map((spec) => spec.topic), timeout: 5_000 });
  } catch {
    // Leftover test topics are harmless: every run uses fresh names.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
