import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createConsumerRunner, deadLetterHeaders, type ConsumedRecord, type RecordHandler } from '../../../src/kafka/consumer-runner.js';
import type { Kafka, Producer } from '../../../src/kafka/kafka-client.js';

/**
 * The runner's retry, dead-letter and commit policy, driven batch by batch through a stand-in
 * for the client. The real broker is exercised by tests/integration/pipeline-dead-letter.test.ts;
 * here the point is exact counts (attempts, commits, dead letters) that a broker run cannot pin
 * down cheaply.
 */

type EachBatch = (payload: { batch: unknown; resolveOffset: (offset: string) => void }) => Promise<void>;
type RebalanceCallback = (
  error: { code: number },
  assignment: { topic: string; partition: number }[],
  client?: { assignmentLost: () => boolean },
) => Promise<void>;

const REVOKE = -174;
const ASSIGN = -175;
const allPartitions = [0, 1, 2, 3, 4, 5].map((partition) => ({ topic: 'chat.messages', partition }));

function fakeClient() {
  const commits: { topic: string; partition: number; offset: string }[] = [];
  const commitRequests: { topic: string; partition: number; offset: string }[][] = [];
  const sent: { topic: string; messages: { key: unknown; value: unknown; headers: Record<string, string> }[] }[] = [];
  const resolved: string[] = [];
  let eachBatch: EachBatch | undefined;
  let rebalance: RebalanceCallback | undefined;
  let disconnected = false;
  let clients = 0;
  let failConnects = 0;
  const consumer = {
    connect: async () => {
      if (failConnects > 0) {
        failConnects -= 1;
        throw new Error('broker transport failure');
      }
    },
    subscribe: async () => {},
    run: async (config: { eachBatch: EachBatch }) => {
      eachBatch = config.eachBatch;
      // Joining the group: the client hands the member its partitions.
      await rebalance!({ code: ASSIGN }, allPartitions);
    },
    commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => {
      commitRequests.push(offsets);
      commits.push(...offsets);
    },
    disconnect: async () => {
      disconnected = true;
    },
  };
  const kafka = {
    consumer: (config: { rebalance_cb: RebalanceCallback }) => {
      clients += 1;
      rebalance = config.rebalance_cb;
      return consumer;
    },
  } as unknown as Kafka;
  const producer = {
    send: async (record: (typeof sent)[number]) => {
      sent.push(record);
      return [];
    },
  } as unknown as Producer;
  return {
    kafka,
    producer,
    commits,
    commitRequests,
    sent,
    resolved,
    isDisconnected: () => disconnected,
    clients: () => clients,
    failNextConnects(count: number) {
      failConnects = count;
    },
    revoke: (partitions: number[], lost = false) =>
      rebalance!(
        { code: REVOKE },
        partitions.map((partition) => ({ topic: 'chat.messages', partition })),
        { assignmentLost: () => lost },
      ),
    assign: (partitions: number[]) =>
      rebalance!(
        { code: ASSIGN },
        partitions.map((partition) => ({ topic: 'chat.messages', partition })),
      ),
    /** Feeds one batch of a partition, as the client would after a fetch. */
    deliver(partition: number, values: (string | null)[], firstOffset = 0) {
      if (!eachBatch) throw new Error('runner not started');
      return eachBatch({
        resolveOffset: (offset) => resolved.push(`${partition}@${offset}`),
        batch: {
          topic: 'chat.messages',
          partition,
          messages: values.map((value, index) => ({
            key: Buffer.from('7'),
            value: value === null ? null : Buffer.from(value),
            offset: String(firstOffset + index),
            timestamp: '1700000000000',
            headers: { trace: Buffer.from('abc') },
          })),
        },
      });
    },
  };
}

const silent = pino({ level: 'silent' });

async function startRunner(handler: RecordHandler, retryAttempts = 3, log = silent) {
  const client = fakeClient();
  const deadLetters: ConsumedRecord[] = [];
  const runner = createConsumerRunner({
    kafka: client.kafka,
    producer: client.producer,
    groupId: 'chat-persistence',
    topic: 'chat.messages',
    dltTopic: 'chat.messages.dlt',
    handler,
    log,
    retryAttempts,
    retryBackoffMs: 1,
    commitIntervalMs: 20,
    onDeadLetter: (record) => deadLetters.push(record),
  });
  await runner.start();
  return { client, runner, deadLetters };
}

class TransientError extends Error {
  override name = 'TransientError';
}

describe('consumer runner', () => {
  it('should hand a batch over whole and commit past its last record', async () => {
    const handled: string[][] = [];
    const { client } = await startRunner({
      handleBatch: async (records) => {
        handled.push(records.map((record) => record.value!.toString()));
      },
    });

    await client.deliver(2, ['a', 'b', 'c'], 40);

    expect(handled).toEqual([['a', 'b', 'c']]);
    await vi.waitFor(() => expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 2, offset: '43' }]));
    expect(client.sent).toEqual([]);
  });

  it('should commit the newest offset of every partition in one request rather than one per batch', async () => {
    const { client } = await startRunner({ handleBatch: async () => {} });

    await client.deliver(0, ['a'], 0);
    await client.deliver(1, ['b'], 0);
    await client.deliver(0, ['c', 'd'], 1);

    await vi.waitFor(() => expect(client.commitRequests).toHaveLength(1));
    expect(client.commitRequests[0]).toEqual([
      { topic: 'chat.messages', partition: 0, offset: '3' },
      { topic: 'chat.messages', partition: 1, offset: '1' },
    ]);
  });

  it('should commit what is finished before it leaves the group', async () => {
    const { client, runner } = await startRunner({ handleBatch: async () => {} });

    await client.deliver(5, ['a', 'b'], 7);
    await runner.stop();

    expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 5, offset: '9' }]);
    expect(client.isDisconnected()).toBe(true);
  });

  it('should retry a failing record 3 times, dead-letter it, and still handle the records around it in order', async () => {
    const attempts = new Map<string, number>();
    const stored: string[] = [];
    const { client, deadLetters } = await startRunner({
      handleBatch: async (records) => {
        for (const record of records) {
          const value = record.value!.toString();
          attempts.set(value, (attempts.get(value) ?? 0) + 1);
          if (value === 'poison') throw new SyntaxError('Unexpected token p');
        }
        stored.push(...records.map((record) => record.value!.toString()));
      },
    });

    await client.deliver(0, ['before', 'poison', 'after'], 10);

    expect(stored).toEqual(['before', 'after']);
    // Once in the batch, once alone, then the 3 retries.
    expect(attempts.get('poison')).toBe(1 + 1 + 3);
    expect(deadLetters.map((record) => record.offset)).toEqual(['11']);
    expect(client.sent).toHaveLength(1);
    const [letter] = client.sent[0]!.messages;
    expect(client.sent[0]!.topic).toBe('chat.messages.dlt');
    expect(letter!.value).toEqual(Buffer.from('poison'));
    expect(letter!.headers).toMatchObject({
      trace: 'abc',
      'kafka_dlt-original-topic': 'chat.messages',
      'kafka_dlt-original-partition': '0',
      'kafka_dlt-original-offset': '11',
      'kafka_dlt-original-consumer-group': 'chat-persistence',
      'kafka_dlt-exception-fqcn': 'SyntaxError',
      'kafka_dlt-exception-message': 'Unexpected token p',
    });
    await vi.waitFor(() => expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 0, offset: '13' }]));
  });

  it('should honour a configured number of retries', async () => {
    let attempts = 0;
    const { client, deadLetters } = await startRunner(
      {
        handleBatch: async () => {
          attempts += 1;
          throw new Error('always');
        },
      },
      0,
    );

    await client.deliver(1, ['x']);

    // A one-record batch is that record alone: one attempt, no retry.
    expect(attempts).toBe(1);
    expect(deadLetters).toHaveLength(1);
  });

  it('should wait out a transient failure with the batch whole and never dead-letter it', async () => {
    const calls: number[] = [];
    let failuresLeft = 2;
    const { client, deadLetters } = await startRunner({
      handleBatch: async (records) => {
        calls.push(records.length);
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new TransientError('connection refused');
        }
      },
      isTransient: (error) => error instanceof TransientError,
    });

    await client.deliver(3, ['a', 'b', 'c', 'd']);

    expect(calls).toEqual([4, 4, 4]);
    expect(deadLetters).toEqual([]);
    await vi.waitFor(() => expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 3, offset: '4' }]));
  });

  it('should log an outage once when it starts and once when it ends, however many polls it takes', async () => {
    const lines: { level: number; msg: string; attempts?: number }[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    let failuresLeft = 5;
    const { client } = await startRunner(
      {
        handleBatch: async () => {
          if (failuresLeft-- > 0) throw new TransientError('connection refused');
        },
        isTransient: (error) => error instanceof TransientError,
      },
      3,
      log,
    );

    const startedAt = lines.length;
    await client.deliver(2, ['a', 'b']);

    const atInfoOrAbove = lines
      .slice(startedAt)
      .filter((line) => line.level >= 30)
      .map((line) => [line.msg, line.attempts]);
    expect(atInfoOrAbove).toEqual([
      ['transient failure; waiting for the dependency', undefined],
      ['dependency back; partition resumed', 5],
    ]);
    expect(lines.filter((line) => line.msg === 'still waiting for the dependency')).toHaveLength(4);
  });

  it('should give a batch up without committing when stopped while its dependency is down', async () => {
    const { client, runner } = await startRunner({
      handleBatch: async () => {
        throw new TransientError('connection refused');
      },
      isTransient: (error) => error instanceof TransientError,
    });

    const inHand = client.deliver(0, ['a']);
    await runner.stop();
    await inHand;

    // Left unresolved, so the client reads it again; nothing committed for it.
    expect(client.resolved).toEqual([]);
    expect(client.commits).toEqual([]);
    expect(client.isDisconnected()).toBe(true);
  });

  it('should commit what is finished before a revocation completes, and nothing for the partition afterwards', async () => {
    const { client, runner } = await startRunner({ handleBatch: async () => {} });
    await client.deliver(1, ['a', 'b'], 10);
    await client.deliver(2, ['c'], 20);

    await client.revoke([1, 2]);

    expect(client.commits).toEqual([
      { topic: 'chat.messages', partition: 1, offset: '12' },
      { topic: 'chat.messages', partition: 2, offset: '21' },
    ]);
    expect(runner.assignment().map((tp) => tp.partition)).toEqual([0, 3, 4, 5]);
    // A batch the client still hands over for a revoked partition is left for its new owner.
    await client.deliver(1, ['late'], 12);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(client.resolved).toEqual(['1@11', '2@20']);
    expect(client.commits).toHaveLength(2);
  });

  it("should commit nothing for partitions whose assignment was lost, since they are someone else's already", async () => {
    const { client, runner } = await startRunner({ handleBatch: async () => {} });
    await client.deliver(1, ['a'], 3);

    await client.revoke([1], true);
    await runner.stop();

    expect(client.commits).toEqual([]);
  });

  it('should let the batch in hand finish and commit it before the revocation completes', async () => {
    let release!: () => void;
    const { client } = await startRunner({
      handleBatch: () => new Promise<void>((resolve) => (release = resolve)),
    });
    const inHand = client.deliver(4, ['a'], 7);
    let revoked = false;
    const revocation = client.revoke([4]).then(() => (revoked = true));

    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(revoked).toBe(false);
    release();
    await Promise.all([inHand, revocation]);

    expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 4, offset: '8' }]);
  });

  it("should hold a partition's commits back at a deferred record while the records after it go on", async () => {
    const handled: string[] = [];
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const { client } = await startRunner({
      handleBatch: async (records, context) => {
        for (const record of records) {
          const value = record.value!.toString();
          if (value === 'waits' && context.defer) context.defer(record, () => arrived);
          else handled.push(value);
        }
      },
    });

    await client.deliver(0, ['a', 'waits', 'b', 'c'], 0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 0, offset: '1' }]);

    arrive();
    await vi.waitFor(() => expect(client.commits.at(-1)).toEqual({ topic: 'chat.messages', partition: 0, offset: '4' }));
    expect(handled).toEqual(['a', 'b', 'c', 'waits']);
  });

  it('should dead-letter a deferred record whose wait fails, then commit past it', async () => {
    const { client, deadLetters } = await startRunner({
      handleBatch: async (records, context) => {
        for (const record of records) context.defer?.(record, () => Promise.reject(new Error('message never stored')));
      },
    });

    await client.deliver(3, ['x'], 5);

    await vi.waitFor(() => expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 3, offset: '6' }]));
    expect(deadLetters.map((record) => record.offset)).toEqual(['5']);
    expect(client.sent[0]!.messages[0]!.headers['kafka_dlt-exception-message']).toBe('message never stored');
  });

  it('should drop a deferred record when its partition is revoked, without committing past it', async () => {
    let signal: AbortSignal | undefined;
    const { client, deadLetters } = await startRunner({
      handleBatch: async (records, context) => {
        for (const record of records) {
          if (record.value!.toString() === 'waits') {
            context.defer?.(record, (abort) => {
              signal = abort;
              return new Promise<void>(() => {});
            });
          }
        }
      },
    });

    await client.deliver(2, ['a', 'waits', 'b'], 30);
    await client.revoke([2]);

    expect(signal?.aborted).toBe(true);
    expect(client.commits).toEqual([{ topic: 'chat.messages', partition: 2, offset: '31' }]);
    expect(deadLetters).toEqual([]);
  });

  it('should try a failed start again with a new client instead of keeping the failure', async () => {
    const client = fakeClient();
    client.failNextConnects(1);
    const runner = createConsumerRunner({
      kafka: client.kafka,
      producer: client.producer,
      groupId: 'g',
      topic: 'chat.messages',
      dltTopic: 'chat.messages.dlt',
      handler: { handleBatch: async () => {} },
      log: silent,
      retryAttempts: 0,
      retryBackoffMs: 1,
      restartDelayMs: 20,
    });

    await expect(runner.start()).rejects.toThrow('broker transport failure');
    // The runner tries again by itself; a later start() joins that attempt or starts one.
    await vi.waitFor(() => expect(runner.assignment()).toHaveLength(6));
    await runner.start();
    expect(client.clients()).toBe(2);
    await runner.stop();
  });
});

describe('dead-letter headers', () => {
  const record: ConsumedRecord = {
    topic: 'chat.messages',
    partition: 4,
    offset: '1234567890123',
    key: '9',
    value: Buffer.from('{'),
    timestamp: 1_700_000_000_000,
    headers: {
      traceparent: '00-abc-def-01',
      'kafka_dlt-original-offset': '1',
      'kafka_dlt-exception-message': 'an older failure',
    },
  };

  it('should name the original topic, partition, offset, group and exception as text', () => {
    const error = new TypeError('bad value');
    expect(deadLetterHeaders(record, 'chat-broadcast', error)).toEqual({
      traceparent: '00-abc-def-01',
      'kafka_dlt-original-topic': 'chat.messages',
      'kafka_dlt-original-partition': '4',
      'kafka_dlt-original-offset': '1234567890123',
      'kafka_dlt-original-timestamp': '1700000000000',
      'kafka_dlt-original-consumer-group': 'chat-broadcast',
      'kafka_dlt-exception-fqcn': 'TypeError',
      'kafka_dlt-exception-message': 'bad value',
    });
  });

  it('should cap a long exception message', () => {
    const headers = deadLetterHeaders(record, 'g', new Error('x'.repeat(5000)));
    expect(headers['kafka_dlt-exception-message']).toHaveLength(1000);
  });
});
