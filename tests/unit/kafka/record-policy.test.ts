import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, RecordHandler } from '../../../src/kafka/consumed-record.js';
import { AbandonedError } from '../../../src/kafka/dead-letter.js';
import { createRecordPolicy } from '../../../src/kafka/record-policy.js';

const record = (offset: number, value: string): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: null,
  value: Buffer.from(value),
  timestamp: 0,
  headers: {},
});

class TransientError extends Error {}

function policy(handler: RecordHandler, retryAttempts = 2) {
  const deadLetters: string[] = [];
  const sleeps: number[] = [];
  const instance = createRecordPolicy({
    handler: { isTransient: (error) => error instanceof TransientError, ...handler },
    deadLetter: async (failed) => void deadLetters.push(failed.value!.toString()),
    retryAttempts,
    retryBackoffMs: 100,
    log: pino({ level: 'silent' }),
    sleep: async (ms) => void sleeps.push(ms),
  });
  return { policy: instance, deadLetters, sleeps };
}

describe('record policy', () => {
  it('should retry a lone failing record the configured times, backoff apart, then dead-letter it', async () => {
    let attempts = 0;
    const {
      policy: p,
      deadLetters,
      sleeps,
    } = policy({
      handleBatch: async () => {
        attempts += 1;
        throw new Error('bad');
      },
    });

    await p.run([record(0, 'x')], () => false);

    expect(attempts).toBe(3);
    expect(sleeps).toEqual([100, 100]);
    expect(deadLetters).toEqual(['x']);
  });

  it('should split a failing batch and dead-letter only the record at fault', async () => {
    const handled: string[] = [];
    const { policy: p, deadLetters } = policy({
      handleBatch: async (records) => {
        if (records.some((r) => r.value!.toString() === 'bad')) throw new Error('bad');
        handled.push(...records.map((r) => r.value!.toString()));
      },
    });

    await p.run([record(0, 'a'), record(1, 'bad'), record(2, 'b')], () => false);

    expect(handled).toEqual(['a', 'b']);
    expect(deadLetters).toEqual(['bad']);
  });

  it('should wait out a transient failure without counting it as a retry, at least 250 ms apart', async () => {
    let failures = 3;
    const {
      policy: p,
      deadLetters,
      sleeps,
    } = policy(
      {
        handleBatch: async () => {
          if (failures-- > 0) throw new TransientError('down');
        },
      },
      0,
    );

    await p.run([record(0, 'a'), record(1, 'b')], () => false);

    expect(sleeps).toEqual([250, 250, 250]);
    expect(deadLetters).toEqual([]);
  });

  it('should give up with AbandonedError when a failure comes after the work was abandoned', async () => {
    const { policy: p, deadLetters } = policy({
      handleBatch: async () => {
        throw new TransientError('down');
      },
    });

    await expect(p.run([record(0, 'a')], () => true)).rejects.toBeInstanceOf(AbandonedError);
    expect(deadLetters).toEqual([]);
  });

  it('should return the records deferred by the attempt that succeeded, once each', async () => {
    let failures = 1;
    const { policy: p } = policy({
      handleBatch: async (records, context) => {
        context.defer?.(records[0]!, async () => {});
        if (failures-- > 0) throw new TransientError('down');
      },
    });

    const deferred = await p.run([record(4, 'a'), record(5, 'b')], () => false);

    expect(deferred.map((item) => item.record.offset)).toEqual(['4']);
  });

  it('should offer no defer on a final handling', async () => {
    let offered: boolean | undefined;
    const { policy: p } = policy({
      handleBatch: async (_records, context) => {
        offered = context.defer !== undefined;
      },
    });

    await p.run([record(0, 'a')], () => false, { final: true });

    expect(offered).toBe(false);
  });
});
