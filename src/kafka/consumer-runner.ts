/**
 * Runs one consumer group over one topic: the consumer's life (connect, join, rebalance, leave),
 * with the batch policy of `record-policy.ts` and the commits of `commit-tracker.ts`:
 * - offsets are committed by hand, only after the work for them is done;
 * - on revocation, what is finished is committed before the revocation completes, and nothing is
 *   committed afterwards for a partition this member no longer owns;
 * - a record its handler defers (it names something not stored yet) holds its partition's commit
 *   back until it is handled, while the records after it go on;
 * - a failed start is retried, with a new client, until the runner starts or is stopped;
 * - stop() lets the batch in hand finish, commits, and leaves the group so partitions move at
 *   once; a consumer still connecting to an unreachable broker is not waited for.
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../logger.js';
import { withTimeout } from '../with-timeout.js';
import { createCommitTracker } from './commit-tracker.js';
import { toConsumedRecord, type ConsumedRecord, type RecordHandler, type TopicPartition } from './consumed-record.js';
import { AbandonedError, createDeadLetterPublisher } from './dead-letter.js';
import type { Consumer, Kafka, Producer } from './kafka-client.js';
import { createDeferredRecords } from './deferred-records.js';
import { createRecordPolicy } from './record-policy.js';

export type { BatchContext, ConsumedRecord, RecordHandler } from './consumed-record.js';
export { deadLetterHeaders } from './dead-letter.js';

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
  /**
   * Finished offsets wait at most this long to be committed. One commit per batch floods the
   * group coordinator once batches get small (bench/README.md); a crash then costs at most this
   * much more redelivery, which every handler tolerates.
   */
  commitIntervalMs?: number;
  /** Pause before a failed start is tried again. */
  restartDelayMs?: number;
  /** Deferred records in wait at once; past it, the partition waits for room (back-pressure). */
  maxDeferred?: number;
}

export interface ConsumerRunner {
  readonly groupId: string;
  /** Rejects when this attempt fails; the runner then tries again by itself until stopped. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Partitions currently assigned to this member. */
  assignment(): TopicPartition[];
}

const CONNECT_TIMEOUT_MS = 20_000;
const FINAL_COMMIT_BUDGET_MS = 10_000;
const DISCONNECT_TIMEOUT_MS = 15_000;

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

type Rebalance = KafkaJS.KafkaJSError & { code: number };

export function createConsumerRunner(options: ConsumerRunnerOptions): ConsumerRunner {
  const log = options.log.child({ group: options.groupId, topic: options.topic });
  let consumer: Consumer | undefined;
  /** The current client's own connect(), which settles only when librdkafka does (~30 s for a dead broker). */
  let connecting: Promise<void> | undefined;
  let connected = false;
  let starting: Promise<void> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;

  const tracker = createCommitTracker({
    commit: (offsets) => consumer!.commitOffsets(offsets),
    intervalMs: options.commitIntervalMs ?? 100,
    log,
    sleep,
  });
  const policy = createRecordPolicy({
    handler: options.handler,
    deadLetter: createDeadLetterPublisher({
      producer: options.producer,
      dltTopic: options.dltTopic,
      groupId: options.groupId,
      log,
      retryMs: options.retryBackoffMs || 500,
      sleep,
      onDeadLetter: options.onDeadLetter,
    }),
    retryAttempts: options.retryAttempts,
    retryBackoffMs: options.retryBackoffMs,
    log,
    sleep,
  });

  const deferredRecords = createDeferredRecords({ policy, log, max: options.maxDeferred ?? 10_000, stopping: () => stopping });

  async function eachBatch({ batch, resolveOffset }: { batch: KafkaJS.Batch; resolveOffset: (offset: string) => void }): Promise<void> {
    if (batch.messages.length === 0 || stopping) return;
    const records = batch.messages.map((message) => toConsumedRecord(batch.topic, batch.partition, message));
    const last = records.at(-1)!.offset;
    // Not this member's (any more): left unresolved, so the client reads it again if it owns it again.
    const work = tracker.begin(batch, records[0]!.offset, last);
    if (!work) return;
    try {
      const deferred = await policy.run(records, () => stopping || work.leaving);
      deferredRecords.start(deferred, (record) => tracker.hold(record, record.offset));
      await deferredRecords.room();
      work.done();
      resolveOffset(last);
    } catch (error) {
      work.abandon();
      if (!(error instanceof AbandonedError)) throw error;
      return;
    }
    options.onBatchDone?.(records);
  }

  async function onRebalance(error: Rebalance, assignment: TopicPartition[], client?: { assignmentLost?: () => boolean }): Promise<void> {
    const revoked = error.code === KafkaJS.ErrorCodes.ERR__REVOKE_PARTITIONS;
    // Lost (the session expired): the partitions are someone else's already, nothing may be committed.
    const lost = revoked && (client?.assignmentLost?.() ?? false);
    log.info({ event: lost ? 'lost' : revoked ? 'revoked' : 'assigned', partitions: assignment.map((tp) => tp.partition) }, 'rebalance');
    // The client completes the revocation only once this settles: the finished offsets are
    // committed while this member still owns the partitions, and never after.
    if (revoked) await tracker.revoke(assignment, { commit: !lost });
    else tracker.assign(assignment);
  }

  function createClient(): Consumer {
    // A client given up after a failed start may still call back while it disconnects: only the
    // current client's rebalances count.
    let client: Consumer | undefined = undefined;
    client = options.kafka.consumer({
      // Latency comes from fetch.min.bytes=1: the broker answers a waiting fetch the moment one
      // record arrives. fetch.wait.max.ms only bounds an idle long-poll (docs/pipeline.md).
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
      rebalance_cb: (error: Rebalance, assignment: TopicPartition[], fns?: { assignmentLost?: () => boolean }) =>
        client !== undefined && client === consumer ? onRebalance(error, assignment, fns) : Promise.resolve(),
    });
    return client;
  }

  /** Disconnects a client whose start failed, once its own connect settles (it may still be trying). */
  function discard(client: Consumer, connecting: Promise<void>): void {
    void connecting.then(
      () => client.disconnect().catch(() => {}),
      () => {},
    );
  }

  async function attemptStart(): Promise<void> {
    const client = createClient();
    consumer = client;
    const clientConnecting = client.connect().then(() => {
      if (consumer === client) connected = true;
    });
    connecting = clientConnecting;
    try {
      await withTimeout(clientConnecting, CONNECT_TIMEOUT_MS, `consumer ${options.groupId} connect`);
      if (stopping) return;
      await client.subscribe({ topics: [options.topic] });
      if (stopping) return;
      await client.run({ partitionsConsumedConcurrently: options.concurrency ?? 1, eachBatchAutoResolve: false, eachBatch });
    } catch (error) {
      consumer = undefined;
      connected = false;
      discard(client, clientConnecting);
      throw error;
    }
    log.info('consumer started');
  }

  function start(): Promise<void> {
    if (stopping) return Promise.resolve();
    clearTimeout(restartTimer);
    restartTimer = undefined;
    starting ??= attemptStart().catch((error: unknown) => {
      starting = undefined;
      if (!stopping) {
        const delay = options.restartDelayMs ?? 5_000;
        log.warn({ err: error, retryInMs: delay }, 'consumer failed to start; trying again');
        restartTimer = setTimeout(() => void start().catch(() => {}), delay);
        restartTimer.unref();
      }
      throw error;
    });
    return starting;
  }

  async function stopConsumer(running: Consumer): Promise<void> {
    if (!connected) {
      // Still connecting (the broker is unreachable): disconnect() would block until librdkafka
      // gives up, ~30 s. Shutdown does not wait for that; the client is disconnected once its
      // connect settles, and start-up, seeing `stopping`, never joins the group.
      discard(running, connecting ?? Promise.resolve());
      log.info('consumer stopped before it connected');
      return;
    }
    deferredRecords.wakeAll();
    // The batch in hand finishes (a handler stuck on a dead dependency gives up without a
    // commit, and its records go to the next owner), then what is finished is committed.
    await withTimeout(tracker.close(FINAL_COMMIT_BUDGET_MS), FINAL_COMMIT_BUDGET_MS * 2, `consumer ${options.groupId} final commit`).catch(
      (error: unknown) => log.warn({ err: error }, 'final offset commit did not finish'),
    );
    await withTimeout(running.disconnect(), DISCONNECT_TIMEOUT_MS, `consumer ${options.groupId} disconnect`).catch((error: unknown) =>
      log.warn({ err: error }, 'consumer disconnect did not finish cleanly'),
    );
    log.info('consumer stopped');
  }

  return {
    groupId: options.groupId,
    start,
    stop() {
      stopping = true;
      clearTimeout(restartTimer);
      if (!consumer) return Promise.resolve();
      stopped ??= stopConsumer(consumer);
      return stopped;
    },
    assignment: () => tracker.assignment(),
  };
}
