import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Admin } from '../kafka/kafka-client.js';
import { withTimeout } from '../with-timeout.js';

/** One consumer group of this instance and the partitions Kafka gave it. */
export interface ConsumerView {
  groupId: string;
  topic: string;
  assignment(): { topic: string; partition: number }[];
}

export interface LagSample {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

const REFRESH_EVERY_MS = 5_000;
const ADMIN_TIMEOUT_MS = 2_000;

/**
 * Consumer lag (high watermark − next offset to process) for the partitions this instance owns.
 *
 * Two sources, because each alone misleads: the high watermark that came with the last batch goes
 * stale when a consumer is stuck (no batches, so no news of new records), while the broker's view
 * (admin fetchOffsets + fetchTopicOffsets) costs two requests. The broker is asked at most every
 * few seconds, on scrape; between asks, and when the broker does not answer in time, the batch
 * figures stand in.
 */
export function createConsumerLagTracker(options: { admin: Admin; consumers: () => ConsumerView[]; now?: () => number }) {
  const now = options.now ?? Date.now;
  // group → topic:partition → what the last batch told us
  const fromBatches = new Map<string, Map<string, { next: bigint; high: bigint }>>();
  let brokerView: { at: number; high: Map<string, bigint>; committed: Map<string, Map<string, bigint>> } | undefined;
  let refreshing: Promise<void> | undefined;

  const key = (topic: string, partition: number) => `${topic}:${partition}`;

  async function refresh(): Promise<void> {
    const consumers = options.consumers();
    const high = new Map<string, bigint>();
    const committed = new Map<string, Map<string, bigint>>();
    for (const topic of new Set(consumers.map((consumer) => consumer.topic))) {
      const offsets = await options.admin.fetchTopicOffsets(topic, {
        timeout: ADMIN_TIMEOUT_MS,
        isolationLevel: KafkaJS.IsolationLevel.READ_UNCOMMITTED,
      });
      for (const entry of offsets) high.set(key(topic, entry.partition), BigInt(entry.high));
    }
    for (const consumer of consumers) {
      const groups = await options.admin.fetchOffsets({ groupId: consumer.groupId, topics: [consumer.topic], timeout: ADMIN_TIMEOUT_MS });
      const own = new Map<string, bigint>();
      for (const topic of groups) {
        for (const entry of topic.partitions) {
          const offset = BigInt(entry.offset);
          // -1: nothing committed yet; the group starts from the beginning, so all of it is lag.
          if (offset >= 0n) own.set(key(topic.topic, entry.partition), offset);
        }
      }
      committed.set(consumer.groupId, own);
    }
    brokerView = { at: now(), high, committed };
  }

  return {
    /** Called after a batch is processed and committed. */
    recordBatch(group: string, topic: string, partition: number, lastOffset: string, highWatermark: string | undefined): void {
      let own = fromBatches.get(group);
      if (!own) {
        own = new Map();
        fromBatches.set(group, own);
      }
      const next = BigInt(lastOffset) + 1n;
      const high = highWatermark !== undefined && /^\d+$/.test(highWatermark) ? BigInt(highWatermark) : next;
      own.set(key(topic, partition), { next, high: high > next ? high : next });
    },

    /** Lag per owned partition; never throws (a broker that does not answer leaves the batch view). */
    async sample(): Promise<LagSample[]> {
      if (!brokerView || now() - brokerView.at > REFRESH_EVERY_MS) {
        refreshing ??= withTimeout(refresh(), ADMIN_TIMEOUT_MS * 2, 'consumer lag refresh')
          .catch(() => {})
          .finally(() => {
            refreshing = undefined;
          });
        await refreshing;
      }
      const samples: LagSample[] = [];
      for (const consumer of options.consumers()) {
        const batches = fromBatches.get(consumer.groupId);
        for (const { topic, partition } of consumer.assignment()) {
          const id = key(topic, partition);
          const batch = batches?.get(id);
          const brokerHigh = brokerView?.high.get(id);
          const brokerCommitted = brokerView?.committed.get(consumer.groupId)?.get(id);
          const high = max(brokerHigh, batch?.high);
          const next = max(brokerCommitted, batch?.next) ?? 0n;
          if (high === undefined) continue;
          const lag = high > next ? high - next : 0n;
          samples.push({ group: consumer.groupId, topic, partition, lag: Number(lag) });
        }
      }
      return samples;
    },
  };
}

function max(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

export type ConsumerLagTracker = ReturnType<typeof createConsumerLagTracker>;
