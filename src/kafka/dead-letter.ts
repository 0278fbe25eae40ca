import type { Logger } from '../logger.js';
import type { ConsumedRecord } from './consumed-record.js';
import type { Producer } from './kafka-client.js';

/** Long enough for any database or validation message; a header is not a log. */
const MAX_EXCEPTION_MESSAGE = 1000;

/** The work in hand was given up: this member stops or lost the partition. Nothing is committed for it. */
export class AbandonedError extends Error {
  override name = 'AbandonedError';
  constructor() {
    super('record abandoned: the consumer stops or lost the partition');
  }
}

/**
 * Headers of a dead letter: the record's own headers plus Spring Kafka's `kafka_dlt-*` names, so
 * an operator who knows Spring reads them at once in Kafka UI. Unlike Spring, partition, offset
 * and timestamp are decimal text rather than big-endian binary, because Kafka UI shows header
 * values as text. A record dead-lettered twice (replayed from the DLT and failing again) carries
 * the latest failure, not a mix of both.
 */
export function deadLetterHeaders(record: ConsumedRecord, groupId: string, error: Error): Record<string, string> {
  const own = Object.fromEntries(Object.entries(record.headers).filter(([name]) => !name.startsWith('kafka_dlt-')));
  return {
    ...own,
    'kafka_dlt-original-topic': record.topic,
    'kafka_dlt-original-partition': String(record.partition),
    'kafka_dlt-original-offset': record.offset,
    'kafka_dlt-original-timestamp': String(record.timestamp),
    'kafka_dlt-original-consumer-group': groupId,
    'kafka_dlt-exception-fqcn': error.name || 'Error',
    'kafka_dlt-exception-message': (error.message || String(error)).slice(0, MAX_EXCEPTION_MESSAGE),
  };
}

export interface DeadLetterOptions {
  producer: Producer;
  dltTopic: string;
  groupId: string;
  log: Logger;
  /** Pause between two failed publishes. */
  retryMs: number;
  sleep: (ms: number) => Promise<void>;
  onDeadLetter?: (record: ConsumedRecord, error: Error) => void;
}

export type DeadLetterPublisher = (record: ConsumedRecord, error: Error, abandoned: () => boolean) => Promise<void>;

/**
 * Publishes a record to the dead-letter topic, retrying until the broker takes it: the record is
 * committed past only once its dead letter is safe, so a failed publish must not lose it.
 */
export function createDeadLetterPublisher(options: DeadLetterOptions): DeadLetterPublisher {
  return async (record, error, abandoned) => {
    const headers = deadLetterHeaders(record, options.groupId, error);
    for (;;) {
      try {
        await options.producer.send({ topic: options.dltTopic, messages: [{ key: record.key, value: record.value, headers }] });
        break;
      } catch (sendError) {
        if (abandoned()) throw new AbandonedError();
        options.log.warn({ err: sendError, partition: record.partition, offset: record.offset }, 'dead-letter publish failed; retrying');
        await options.sleep(options.retryMs);
      }
    }
    options.log.error(
      { partition: record.partition, offset: record.offset, key: record.key, err: error, dlt: options.dltTopic },
      'record dead-lettered after retries',
    );
    options.onDeadLetter?.(record, error);
  };
}
