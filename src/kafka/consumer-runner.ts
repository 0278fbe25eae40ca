/**
 * Runs one consumer group over one topic with the delivery rules every group of this service
 * shares (SPEC §7):
 * - offsets are committed by hand, only after the work for them is done, at most every
 *   `commitIntervalMs` with every partition's newest finished offset in one request;
 * - a batch is first handled whole (one transaction, one pipeline); if a record in it is at
 *   fault, its records are handled one at a time so one bad record cannot hold the others back;
 * - a record that keeps failing is retried `attempts` times, `backoffMs` apart, then published to
 *   the dead-letter topic with Spring-style `kafka_dlt-*` headers, logged, and committed past;
 * - a transient failure (the database or Redis is away) is not the records' fault: the batch is
 *   retried whole until the dependency is back, never dead-lettered;
 * - stop() lets the batch in hand finish, commits, and leaves the group so partitions move at
 *   once; a consumer still connecting to an unreachable broker is not waited for.
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../logger.js';
import { withTimeout } from '../with-timeout.js';
import type { Consumer, Kafka, KafkaMessage, Producer } from './kafka-client.js';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** Broker/producer timestamp in epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
}

export interface RecordHandler {
  /** Handles records of one partition, in order. Must be all-or-nothing, or idempotent. */
  handleBatch(records: ConsumedRecord[]): Promise<void>;
  /** True for failures of a dependency (retry until it is back) rather than of the record. */
  isTransient?(error: unknown): boolean;
}

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  /** Used to publish dead letters. */
  producer: Producer;
  groupId: string;
  topic: string;
  dltTopic: string;
  handler: RecordHandler;
  log: Logger;
  retryAttempts: number;
  retryBackoffMs: number;
  /** Partitions handled at once; each partition stays in order. */
  concurrency?: number;
  maxBatchSize?: number;
  onDeadLetter?: (record: ConsumedRecord, error: Error) => void;
  onBatchDone?: (records: ConsumedRecord[]) => void;
  /** Finished offsets wait at most this long to be committed (default COMMIT_INTERVAL_MS). */
  commitIntervalMs?: number;
}

export interface ConsumerRunner {
  readonly groupId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Partitions currently assigned to this member. */
  assignment(): { topic: string; partition: number }[];
}

class StoppingError extends Error {
  constructor() {
    super('consumer stopping');
  }
}

const toRecord = (topic: string, partition: number, message: KafkaMessage): ConsumedRecord => ({
  topic,
  partition,
  offset: message.offset,
  key: message.key ? message.key.toString() : null,
  value: message.value,
  timestamp: Number(message.timestamp),
  headers: Object.fromEntries(
    Object.entries(message.headers ?? {}).map(([name, value]) => [name, Array.isArray(value) ? String(value[0]) : String(value ?? '')]),
  ),
});

const nextOffset = (offset: string) => (BigInt(offset) + 1n).toString();

/** Long enough for any database or validation message; a header is not a log. */
const MAX_EXCEPTION_MESSAGE = 1000;
const COMMIT_ATTEMPTS = 5;
const COMMIT_RETRY_MS = 500;
/**
 * One commit per batch floods the group coordinator once batches get small: at 2,000 msg/s the
 * broadcast member's heartbeats queued behind its commits, its session timed out, and delivery
 * stopped for a rebalance (bench/README.md). Committing every 100 ms instead costs a crash at most
 * 100 ms more of redelivery, which every handler tolerates (idempotent store, subscribers dedupe
 * by messageKey).
 */
const COMMIT_INTERVAL_MS = 100;
/** While a dependency is down, poll it no faster than this, whatever the retry backoff says. */
const MIN_TRANSIENT_WAIT_MS = 250;

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

export function createConsumerRunner(options: ConsumerRunnerOptions): ConsumerRunner {
  const log = options.log.child({ group: options.groupId, topic: options.topic });
  let consumer: Consumer | undefined;
  let starting: Promise<void> | undefined;
  /** The client's own connect(), which settles only when librdkafka does (~30 s for a dead broker). */
  let connecting: Promise<void> | undefined;
  let connected = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const assigned = new Map<string, { topic: string; partition: number }>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
    });

  /**
   * A dependency outage is polled every few hundred ms on every partition; one warning when it
   * starts and one line when it ends say as much as forty lines a second would.
   */
  const outages = new Map<number, { since: number; attempts: number }>();

  function waitingForDependency(partition: number, error: unknown, context: Record<string, unknown>): Promise<void> {
    const outage = outages.get(partition);
    if (outage) {
      outage.attempts += 1;
      log.debug({ err: error, partition, attempt: outage.attempts }, 'still waiting for the dependency');
    } else {
      outages.set(partition, { since: Date.now(), attempts: 1 });
      log.warn({ err: error, partition, ...context }, 'transient failure; waiting for the dependency');
    }
    return sleep(Math.max(options.retryBackoffMs, MIN_TRANSIENT_WAIT_MS));
  }

  function dependencyBack(partition: number): void {
    const outage = outages.get(partition);
    if (!outage) return;
    outages.delete(partition);
    log.info({ partition, waitedMs: Date.now() - outage.since, attempts: outage.attempts }, 'dependency back; partition resumed');
  }

  async function deadLetter(record: ConsumedRecord, error: Error): Promise<void> {
    const headers = deadLetterHeaders(record, options.groupId, error);
    for (;;) {
      try {
        await options.producer.send({
          topic: options.dltTopic,
          messages: [{ key: record.key, value: record.value, headers }],
        });
        break;
      } catch (sendError) {
        if (stopping) throw new StoppingError();
        log.warn({ err: sendError, partition: record.partition, offset: record.offset }, 'dead-letter publish failed; retrying');
        await sleep(options.retryBackoffMs || 500);
      }
    }
    log.error(
      { partition: record.partition, offset: record.offset, key: record.key, err: error, dlt: options.dltTopic },
      'record dead-lettered after retries',
    );
    options.onDeadLetter?.(record, error);
  }

  /** One record, its retries, and the dead letter if they run out. Transient failures wait instead. */
  async function handleOne(record: ConsumedRecord): Promise<void> {
    let failures = 0;
    for (;;) {
      try {
        await options.handler.handleBatch([record]);
        dependencyBack(record.partition);
        return;
      } catch (error) {
        if (stopping) throw new StoppingError();
        if (options.handler.isTransient?.(error)) {
          await waitingForDependency(record.partition, error, { offset: record.offset });
          continue;
        }
        failures += 1;
        if (failures > options.retryAttempts) {
          await deadLetter(record, error as Error);
          return;
        }
        log.warn({ err: error, partition: record.partition, offset: record.offset, attempt: failures }, 'record failed; retrying');
        await sleep(options.retryBackoffMs);
      }
    }
  }

  /**
   * Commits past `offset`. A commit that keeps failing (typically because a rebalance gave the
   * partition to another member meanwhile) is given up after a few tries: the new owner then
   * handles these records again, which both handlers tolerate (idempotent insert, at-least-once
   * broadcast), whereas retrying forever would stall every partition this worker serves.
   */
  type Finished = { topic: string; partition: number; offset: string };

  async function commit(offsets: Finished[]): Promise<void> {
    const partitions = offsets.map((finished) => `${finished.partition}@${finished.offset}`);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await consumer!.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: nextOffset(offset) })));
        return;
      } catch (error) {
        if (stopping) throw error;
        if (attempt >= COMMIT_ATTEMPTS) {
          log.warn({ err: error, partitions }, 'offset commit failed; the records will be handled again by the next owner');
          return;
        }
        log.warn({ err: error, partitions, attempt }, 'offset commit failed; retrying');
        await sleep(COMMIT_RETRY_MS);
      }
    }
  }

  /** Newest finished offset per partition, waiting for the next commit. */
  const finished = new Map<string, Finished>();
  let commitTimer: NodeJS.Timeout | undefined;
  let committing: Promise<void> | undefined;

  function scheduleCommit(): void {
    if (commitTimer || committing) return;
    commitTimer = setTimeout(() => {
      commitTimer = undefined;
      void commitFinished();
    }, options.commitIntervalMs ?? COMMIT_INTERVAL_MS);
  }

  /** One commit in flight at a time; offsets finished meanwhile go in the next one. */
  function commitFinished(): Promise<void> {
    if (committing || finished.size === 0) return committing ?? Promise.resolve();
    const offsets = [...finished.values()];
    finished.clear();
    committing = commit(offsets)
      .catch((error: unknown) => log.warn({ err: error }, 'offset commit abandoned while stopping'))
      .finally(() => {
        committing = undefined;
        if (finished.size > 0) scheduleCommit();
      });
    return committing;
  }

  /** Commits everything finished so far, now: before leaving the group, and on revocation. */
  async function flushCommits(): Promise<void> {
    for (;;) {
      clearTimeout(commitTimer);
      commitTimer = undefined;
      if (committing) await committing;
      else if (finished.size > 0) await commitFinished();
      else return;
    }
  }

  async function eachBatch({ batch }: { batch: KafkaJS.Batch }): Promise<void> {
    if (batch.messages.length === 0) return;
    const records = batch.messages.map((message) => toRecord(batch.topic, batch.partition, message));
    for (;;) {
      try {
        await options.handler.handleBatch(records);
        dependencyBack(batch.partition);
        break;
      } catch (error) {
        if (stopping) throw new StoppingError();
        // The dependency is away, not the records at fault: wait for it and keep the batch whole,
        // rather than crawling through it one transaction per record.
        if (options.handler.isTransient?.(error)) {
          await waitingForDependency(batch.partition, error, { size: records.length });
          continue;
        }
        log.debug({ err: error, partition: batch.partition, size: records.length }, 'batch failed; handling records one by one');
        for (const record of records) await handleOne(record);
        break;
      }
    }
    finished.set(`${batch.topic}:${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: records.at(-1)!.offset });
    // While stopping, the batch in hand is committed before disconnect() lets the partition go.
    if (stopping) await flushCommits();
    else scheduleCommit();
    options.onBatchDone?.(records);
  }

  return {
    groupId: options.groupId,

    start() {
      starting ??= startConsumer();
      return starting;
    },

    stop() {
      if (!consumer) return Promise.resolve();
      stopped ??= stopConsumer(consumer);
      return stopped;
    },

    assignment: () => [...assigned.values()],
  };

  async function stopConsumer(running: Consumer): Promise<void> {
    stopping = true;
    if (!connected) {
      // Still connecting (the broker is unreachable): disconnect() would block until librdkafka
      // gives up, ~30 s. Shutdown does not wait for that; the consumer is disconnected once its
      // connect settles, and start-up, seeing `stopping`, never joins the group.
      void connecting?.then(
        () => running.disconnect().catch(() => {}),
        () => {},
      );
      log.info('consumer stopped before it connected');
      return;
    }
    await withTimeout(flushCommits(), 10_000, `consumer ${options.groupId} final commit`).catch((error: unknown) =>
      log.warn({ err: error }, 'final offset commit did not finish'),
    );
    // disconnect() waits for the batch in hand; a handler stuck on a dead dependency gives up
    // (StoppingError) without committing, so its records go to the next owner of the partition.
    await withTimeout(running.disconnect(), 15_000, `consumer ${options.groupId} disconnect`).catch((error: unknown) =>
      log.warn({ err: error }, 'consumer disconnect did not finish cleanly'),
    );
    assigned.clear();
    log.info('consumer stopped');
  }

  async function startConsumer(): Promise<void> {
    consumer = options.kafka.consumer({
      // Latency comes from fetch.min.bytes=1: the broker answers a waiting fetch the moment one
      // record arrives. fetch.wait.max.ms only bounds an idle long-poll, so a tiny value buys no
      // latency and costs idle requests (measured: same delivery p50 at 10 and 500 ms, ~60% more
      // idle CPU at 10); 100 ms keeps newly assigned partitions joining the next fetch quickly.
      'fetch.wait.max.ms': 100,
      'fetch.min.bytes': 1,
      // A batch is whatever has arrived, never waited for; large, so a backlog after a restart
      // is stored in few transactions.
      'js.consumer.max.batch.size': options.maxBatchSize ?? 200,
      'socket.connection.setup.timeout.ms': 5_000,
      // A member that dies without leaving (SIGKILL) loses its partitions after this long.
      'session.timeout.ms': 10_000,
      'heartbeat.interval.ms': 2_000,
      kafkaJS: { groupId: options.groupId, autoCommit: false, fromBeginning: true },
      rebalance_cb: (error: KafkaJS.KafkaJSError & { code: number }, assignment: { topic: string; partition: number }[]) => {
        const revoked = error.code === KafkaJS.ErrorCodes.ERR__REVOKE_PARTITIONS;
        // What is finished is committed at once, so the next owner redoes as little as possible.
        if (revoked) void flushCommits();
        for (const tp of assignment) {
          const id = `${tp.topic}:${tp.partition}`;
          if (revoked) assigned.delete(id);
          else assigned.set(id, { topic: tp.topic, partition: tp.partition });
        }
        log.info({ event: revoked ? 'revoked' : 'assigned', partitions: assignment.map((tp) => tp.partition) }, 'rebalance');
      },
    });
    connecting = consumer.connect().then(() => {
      connected = true;
    });
    await withTimeout(connecting, 20_000, `consumer ${options.groupId} connect`);
    if (stopping) return;
    await consumer.subscribe({ topics: [options.topic] });
    await consumer.run({
      partitionsConsumedConcurrently: options.concurrency ?? 1,
      eachBatch,
    });
    log.info('consumer started');
  }
}
