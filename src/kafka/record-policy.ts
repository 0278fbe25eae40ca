/**
 * What a consumer does with a batch, whatever the group (SPEC §7):
 * - the batch is first handled whole (one transaction, one pipeline); if a record in it is at
 *   fault, its records are handled one at a time, so one bad record cannot hold the others back;
 * - a record that keeps failing is retried `retryAttempts` times, `retryBackoffMs` apart, then
 *   dead-lettered;
 * - a transient failure (the database or Redis is away) is not the records' fault: the same
 *   records are tried again until the dependency is back, never dead-lettered;
 * - once the work is abandoned (the member stops or lost the partition), a failure is not retried:
 *   the records are left, uncommitted, to the next owner.
 */
import type { Logger } from '../logger.js';
import type { BatchContext, ConsumedRecord, DeferUntil, RecordHandler } from './consumed-record.js';
import { AbandonedError, type DeadLetterPublisher } from './dead-letter.js';

/** While a dependency is down, poll it no faster than this, whatever the retry backoff says. */
const MIN_TRANSIENT_WAIT_MS = 250;

export interface Deferred {
  record: ConsumedRecord;
  until: DeferUntil;
}

export interface RecordPolicyOptions {
  handler: RecordHandler;
  deadLetter: DeadLetterPublisher;
  retryAttempts: number;
  retryBackoffMs: number;
  log: Logger;
  sleep: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface RecordPolicy {
  /**
   * Handles `records` (one partition, in order) until each is done or dead-lettered; returns the
   * records the handler deferred. With `final`, the handler may not defer (a deferred record's
   * second handling). Throws AbandonedError once `abandoned()` holds after a failure.
   */
  run(records: ConsumedRecord[], abandoned: () => boolean, options?: { final?: boolean }): Promise<Deferred[]>;
  deadLetter: DeadLetterPublisher;
}

export function createRecordPolicy(options: RecordPolicyOptions): RecordPolicy {
  const { handler, log, sleep } = options;
  const now = options.now ?? Date.now;
  const outages = createOutageLog(log, now);

  /**
   * The one retry loop. Resolves with the deferred records once the records are handled (or the
   * single record dead-lettered), or 'split' when a batch of several failed through a fault of
   * its own records.
   */
  async function attempt(records: ConsumedRecord[], abandoned: () => boolean, final: boolean): Promise<Deferred[] | 'split'> {
    const partition = records[0]!.partition;
    let failures = 0;
    for (;;) {
      // Deferrals count only from the attempt that succeeds; a retried attempt defers again.
      const deferred: Deferred[] = [];
      const context: BatchContext = final ? {} : { defer: (record, until) => void deferred.push({ record, until }) };
      try {
        await handler.handleBatch(records, context);
        outages.back(partition);
        return deferred;
      } catch (error) {
        if (abandoned()) throw new AbandonedError();
        if (handler.isTransient?.(error)) {
          outages.waiting(partition, error, records.length === 1 ? { offset: records[0]!.offset } : { size: records.length });
          await sleep(Math.max(options.retryBackoffMs, MIN_TRANSIENT_WAIT_MS));
          continue;
        }
        if (records.length > 1) {
          log.debug({ err: error, partition, size: records.length }, 'batch failed; handling records one by one');
          return 'split';
        }
        failures += 1;
        if (failures > options.retryAttempts) {
          await options.deadLetter(records[0]!, error as Error, abandoned);
          return [];
        }
        log.warn({ err: error, partition, offset: records[0]!.offset, attempt: failures }, 'record failed; retrying');
        await sleep(options.retryBackoffMs);
      }
    }
  }

  return {
    async run(records, abandoned, runOptions = {}) {
      if (records.length === 0) return [];
      const final = runOptions.final ?? false;
      const whole = await attempt(records, abandoned, final);
      if (whole !== 'split') return whole;
      const deferred: Deferred[] = [];
      for (const record of records) deferred.push(...((await attempt([record], abandoned, final)) as Deferred[]));
      return deferred;
    },
    deadLetter: options.deadLetter,
  };
}

/**
 * A dependency outage is polled every few hundred ms on every partition; one warning when it
 * starts and one line when it ends say as much as forty lines a second would.
 */
function createOutageLog(log: Logger, now: () => number) {
  const outages = new Map<number, { since: number; attempts: number }>();
  return {
    waiting(partition: number, error: unknown, context: Record<string, unknown>): void {
      const outage = outages.get(partition);
      if (outage) {
        outage.attempts += 1;
        log.debug({ err: error, partition, attempt: outage.attempts }, 'still waiting for the dependency');
      } else {
        outages.set(partition, { since: now(), attempts: 1 });
        log.warn({ err: error, partition, ...context }, 'transient failure; waiting for the dependency');
      }
    },
    back(partition: number): void {
      const outage = outages.get(partition);
      if (!outage) return;
      outages.delete(partition);
      log.info({ partition, waitedMs: now() - outage.since, attempts: outage.attempts }, 'dependency back; partition resumed');
    },
  };
}
