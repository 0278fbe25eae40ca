import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Hold } from '../../../src/kafka/commit-tracker.js';
import type { ConsumedRecord } from '../../../src/kafka/consumed-record.js';
import { createDeferredRecords } from '../../../src/kafka/deferred-records.js';
import type { Deferred, RecordPolicy } from '../../../src/kafka/record-policy.js';

const record = (offset: number): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: null,
  value: null,
  timestamp: 0,
  headers: {},
});

function hold(current = true) {
  const controller = new AbortController();
  const state = { released: false, current };
  const held: Hold = {
    signal: controller.signal,
    get current() {
      return state.current;
    },
    release: () => void (state.released = true),
  };
  return { held, state, controller };
}

function deferredRecords(max = 10) {
  const handled: string[] = [];
  const deadLetters: string[] = [];
  const policy: RecordPolicy = {
    run: async (records) => {
      handled.push(...records.map((r) => r.offset));
      return [];
    },
    deadLetter: async (failed, error) => void deadLetters.push(`${failed.offset}: ${error.message}`),
  };
  let stopping = false;
  const instance = createDeferredRecords({ policy, log: pino({ level: 'silent' }), max, stopping: () => stopping });
  return { deferred: instance, handled, deadLetters, stop: () => (stopping = true) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('deferred records', () => {
  it('should handle a record once its wait resolves, then release its hold', async () => {
    const { deferred, handled } = deferredRecords();
    let arrive!: () => void;
    const h = hold();
    deferred.start([{ record: record(4), until: () => new Promise<void>((resolve) => (arrive = resolve)) }], () => h.held);

    await settle();
    expect(handled).toEqual([]);
    arrive();
    await settle();

    expect(handled).toEqual(['4']);
    expect(h.state.released).toBe(true);
  });

  it('should dead-letter a record whose wait fails, then release its hold', async () => {
    const { deferred, handled, deadLetters } = deferredRecords();
    const h = hold();
    deferred.start([{ record: record(7), until: () => Promise.reject(new Error('never stored')) }], () => h.held);
    await settle();

    expect(deadLetters).toEqual(['7: never stored']);
    expect(handled).toEqual([]);
    expect(h.state.released).toBe(true);
  });

  it('should drop a record whose partition was lost meanwhile, neither handled nor released', async () => {
    const { deferred, handled, deadLetters } = deferredRecords();
    const h = hold();
    let arrive!: () => void;
    deferred.start([{ record: record(1), until: () => new Promise<void>((resolve) => (arrive = resolve)) }], () => h.held);
    h.state.current = false;
    arrive();
    await settle();

    expect(handled).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(h.state.released).toBe(false);
  });

  it('should skip a record that cannot be held (its partition is gone)', async () => {
    const { deferred, handled } = deferredRecords();
    deferred.start([{ record: record(2), until: async () => {} }], () => undefined);
    await settle();
    expect(handled).toEqual([]);
  });

  it('should make a batch wait for room past the maximum, and let it go once a wait ends or the member stops', async () => {
    const { deferred, stop } = deferredRecords(1);
    const arrivals: (() => void)[] = [];
    const waitFor: Deferred['until'] = () => new Promise<void>((resolve) => arrivals.push(resolve));
    deferred.start(
      [0, 1].map((offset) => ({ record: record(offset), until: waitFor })),
      () => hold().held,
    );

    let roomy = false;
    const room = deferred.room().then(() => (roomy = true));
    await settle();
    expect(roomy).toBe(false);
    arrivals[0]!();
    await room;
    expect(roomy).toBe(true);

    deferred.start(
      [2, 3].map((offset) => ({ record: record(offset), until: waitFor })),
      () => hold().held,
    );
    const stopped = deferred.room();
    stop();
    deferred.wakeAll();
    await stopped;
  });
});
