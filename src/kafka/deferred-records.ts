/**
 * Records a handler deferred (they name something not stored yet): each waits under a hold on its
 * offset, which keeps its partition's commits from passing it, then is handled alone by the same
 * policy as any record, or dead-lettered if its wait gives up. When the member stops or loses the
 * partition, the record is dropped without a commit: its next reader reads it again.
 */
import type { Logger } from '../logger.js';
import type { Hold } from './commit-tracker.js';
import type { ConsumedRecord } from './consumed-record.js';
import { AbandonedError } from './dead-letter.js';
import type { Deferred, RecordPolicy } from './record-policy.js';

export interface DeferredRecords {
  /** Starts the wait of each deferred record that `hold` can hold (its partition still owned). */
  start(deferred: Deferred[], hold: (record: ConsumedRecord) => Hold | undefined): void;
  /** Resolves once at most `max` records wait: back-pressure on the batch that deferred more. */
  room(): Promise<void>;
  /** Lets every batch waiting for room go on (the member stops). */
  wakeAll(): void;
}

export function createDeferredRecords(options: {
  policy: RecordPolicy;
  log: Logger;
  max: number;
  stopping: () => boolean;
}): DeferredRecords {
  const { policy, log } = options;
  let waiting = 0;
  const roomWaiters: (() => void)[] = [];

  async function finish({ record, until }: Deferred, hold: Hold): Promise<void> {
    const abandoned = () => options.stopping() || !hold.current;
    try {
      try {
        await until(hold.signal);
      } catch (error) {
        if (abandoned()) return;
        await policy.deadLetter(record, error as Error, abandoned);
        hold.release();
        return;
      }
      if (abandoned()) return;
      await policy.run([record], abandoned, { final: true });
      hold.release();
    } catch (error) {
      if (!(error instanceof AbandonedError))
        log.error({ err: error, partition: record.partition, offset: record.offset }, 'deferred record failed');
    } finally {
      waiting -= 1;
      roomWaiters.shift()?.();
    }
  }

  return {
    start(deferred, hold) {
      for (const item of deferred) {
        const held = hold(item.record);
        if (!held) continue;
        waiting += 1;
        void finish(item, held);
      }
    },
    async room() {
      while (waiting > options.max && !options.stopping()) await new Promise<void>((resolve) => roomWaiters.push(resolve));
    },
    wakeAll() {
      for (const wake of roomWaiters.splice(0)) wake();
    },
  };
}
