import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import {
  createConsumerRunner,
  deadLetterHeaders,
  type ConsumedRecord,
  type RecordHandler,
} from '../../../src/kafka/consumer-runner.js';
import type { Kafka, Producer } from '../../../src/kafka/kafka-client.js';

/**
 * The runner's retry, dead-letter and commit policy, driven batch by batch through a stand-in
 * for the client. The real broker is exercised by tests/integration/pipeline-dead-letter.test.ts;
 * here the point is exact counts (attempts, commits, dead letters) that a broker run cannot pin
 * down cheaply.
 */

type EachBatch = (payload: { batch: unknown }) => Promise<void>;

function fakeClient() {
  const commits: { topic: string; partition: number; offset: string }[] = [];
  const commitRequests: { topic: string; partition: number; offset: string }[][] = [];
  const sent: { topic: string; messages: { key: unknown; value: unknown; headers: Record<string, string> }[] }[] = [];
  let eachBatch: EachBatch | undefined;
  let disconnected = false;
  const consumer = {
    connect: async () => {},
    subscribe: async () => {},
    run: async (config: { eachBatch: EachBatch }) => {
      eachBatch = config.eachBatch;
    },
    commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => {
      commitRequests.push(offsets);
      commits.push(...offsets);
    },
    disconnect: async () => {
      disconnected = true;
    },
  };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
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
    isDisconnected: () => disconnected,
    /** Feeds one batch of a partition, as the client would after a fetch. */
    deliver(partition: number, values: (string | null)[], firstOffset = 0) {
      if (!eachBatch) throw new Error('runner not started');
      return eachBatch({
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

    expect(attempts).toBe(2);
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

    const atInfoOrAbove = lines.slice(startedAt).filter((line) => line.level >= 30).map((line) => [line.msg, line.attempts]);
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
    const outcome = inHand.then(
      () => 'committed',
      () => 'abandoned',
    );
    await runner.stop();

    expect(await outcome).toBe('abandoned');
    expect(client.commits).toEqual([]);
    expect(client.isDisconnected()).toBe(true);
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
      'traceparent': '00-abc-def-01',
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
