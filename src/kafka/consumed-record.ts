import type { KafkaMessage } from './kafka-client.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumedRecord extends TopicPartition {
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** Broker/producer timestamp in epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
}

/**
 * Finishes a record later than its batch: `until` settles once the record can be handled (it
 * resolves) or never will be (it rejects, and the record is dead-lettered). `signal` aborts when
 * this member loses the partition or stops; the next owner then reads the record again.
 */
export type DeferUntil = (signal: AbortSignal) => Promise<void>;

export interface BatchContext {
  /**
   * Present on a first handling only. A deferred record is handed to `handleBatch` again, alone
   * and without `defer`, once `until` resolves; its offset is not committed before that.
   */
  defer?(record: ConsumedRecord, until: DeferUntil): void;
}

export interface RecordHandler {
  /** Handles records of one partition, in order. Must be all-or-nothing, or idempotent. */
  handleBatch(records: ConsumedRecord[], context: BatchContext): Promise<void>;
  /** True for failures of a dependency (retry until it is back) rather than of the record. */
  isTransient?(error: unknown): boolean;
}

export const partitionId = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

export function toConsumedRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString() : null,
    value: message.value,
    timestamp: Number(message.timestamp),
    headers: Object.fromEntries(
      Object.entries(message.headers ?? {}).map(([name, value]) => [name, Array.isArray(value) ? String(value[0]) : String(value ?? '')]),
    ),
  };
}
