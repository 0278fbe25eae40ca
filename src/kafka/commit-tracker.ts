/**
 * Which offsets a consumer may commit, and when it commits them. Invariants:
 * - only partitions this member owns are committed: a partition's state is created on assignment
 *   and deleted before its revocation completes, so nothing finished for it later can be committed;
 * - a partition is committed up to its oldest unfinished record: a batch in hand, or a record
 *   deferred until something it names exists (a crash or a new owner must read that record again);
 * - on revocation, the partition stops taking work, the batch in hand is waited for (bounded), and
 *   its finished offsets are committed before the revocation completes, so the next owner starts
 *   exactly where this member stopped;
 * - otherwise commits are batched: at most every `intervalMs`, one request for every partition,
 *   one request in flight at a time.
 */
import type { Logger } from '../logger.js';
import { partitionId, type TopicPartition } from './consumed-record.js';

const COMMIT_ATTEMPTS = 5;
const COMMIT_RETRY_MS = 500;
/** A rebalance waits for this member at most this long; the group is stalled meanwhile. */
const REVOKE_BUDGET_MS = 10_000;

export interface CommitOffset extends TopicPartition {
  /** The next offset to read, as Kafka wants it: last finished + 1. */
  offset: string;
}

/** A batch in hand: `done()` when handled, `abandon()` when it will be read again. */
export interface Work {
  /** True once the partition is being revoked (or gone): a failure is not worth retrying. */
  readonly leaving: boolean;
  done(): void;
  abandon(): void;
}

/** A record finished later than its batch: its offset holds the partition's commit back until `release()`. */
export interface Hold {
  readonly signal: AbortSignal;
  readonly current: boolean;
  release(): void;
}

interface PartitionState {
  tp: TopicPartition;
  /** Aborted when the partition is revoked or the tracker closes. */
  controller: AbortController;
  revoking: boolean;
  /** First offsets of unfinished work (batches in hand, deferred records), by ticket. */
  open: Map<number, bigint>;
  /** The offset after the newest record handed out. */
  seen: bigint | undefined;
  /** The last offset committed, or the first one handed out in this assignment (nothing to commit up to it). */
  committed: bigint | undefined;
  /** Settles the waiters of `settled()` once no batch is in hand. */
  batchesInHand: number;
  idle: (() => void)[];
}

export interface CommitTrackerOptions {
  commit(offsets: CommitOffset[]): Promise<void>;
  intervalMs: number;
  log: Logger;
  sleep: (ms: number) => Promise<void>;
}

export type CommitTracker = ReturnType<typeof createCommitTracker>;

export function createCommitTracker(options: CommitTrackerOptions) {
  const { log } = options;
  const partitions = new Map<string, PartitionState>();
  let nextTicket = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let committing: Promise<void> | undefined;

  const committable = (state: PartitionState): bigint | undefined => {
    let oldest: bigint | undefined;
    for (const first of state.open.values()) if (oldest === undefined || first < oldest) oldest = first;
    return oldest ?? state.seen;
  };

  function schedule(): void {
    if (timer || committing || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void commitNow();
    }, options.intervalMs);
  }

  /** One commit in flight at a time; what finishes meanwhile goes in the next one. */
  function commitNow(): Promise<void> {
    if (committing) return committing;
    const due: { state: PartitionState; offset: bigint }[] = [];
    for (const state of partitions.values()) {
      const offset = committable(state);
      if (offset !== undefined && state.committed !== undefined && offset > state.committed) due.push({ state, offset });
    }
    if (due.length === 0) return Promise.resolve();
    committing = commitWithRetries(due.map(({ state, offset }) => ({ ...state.tp, offset: offset.toString() }))).then((ok) => {
      committing = undefined;
      // A commit given up is tried again with the next finished record, not in a loop of its own.
      if (!ok) return;
      for (const { state, offset } of due) {
        if (offset > state.committed!) state.committed = offset;
      }
      if ([...partitions.values()].some((state) => committable(state) !== state.committed)) schedule();
    });
    return committing;
  }

  /**
   * A commit that keeps failing is given up after a few tries: the records are then handled again
   * by whoever reads the partition next, which every handler tolerates, whereas retrying forever
   * would stall every partition this member serves.
   */
  async function commitWithRetries(offsets: CommitOffset[]): Promise<boolean> {
    const named = offsets.map((tp) => `${tp.partition}@${tp.offset}`);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await options.commit(offsets);
        return true;
      } catch (error) {
        if (closed || attempt >= COMMIT_ATTEMPTS) {
          log.warn({ err: error, partitions: named }, 'offset commit failed; the records will be handled again by the next reader');
          return false;
        }
        log.warn({ err: error, partitions: named, attempt }, 'offset commit failed; retrying');
        await options.sleep(COMMIT_RETRY_MS);
      }
    }
  }

  /** Commits everything committable now, including what finishes while a commit is in flight. */
  async function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    while (committing) await committing;
    await commitNow();
  }

  function open(state: PartitionState, first: bigint): { ticket: number; current: () => boolean } {
    const ticket = nextTicket++;
    state.open.set(ticket, first);
    return { ticket, current: () => partitions.get(partitionId(state.tp)) === state && !state.controller.signal.aborted };
  }

  function settled(states: PartitionState[], budgetMs: number): Promise<void> {
    const busy = states.filter((state) => state.batchesInHand > 0);
    if (busy.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = busy.length;
      const timeout = setTimeout(resolve, budgetMs);
      for (const state of busy) {
        state.idle.push(() => {
          if (--left === 0) {
            clearTimeout(timeout);
            resolve();
          }
        });
      }
    });
  }

  function batchEnded(state: PartitionState): void {
    state.batchesInHand -= 1;
    if (state.batchesInHand === 0) for (const wake of state.idle.splice(0)) wake();
  }

  function forget(states: PartitionState[]): void {
    for (const state of states) {
      state.controller.abort();
      if (partitions.get(partitionId(state.tp)) === state) partitions.delete(partitionId(state.tp));
    }
  }

  return {
    assign(tps: TopicPartition[]): void {
      for (const tp of tps) {
        const id = partitionId(tp);
        partitions.get(id)?.controller.abort();
        partitions.set(id, {
          tp: { topic: tp.topic, partition: tp.partition },
          controller: new AbortController(),
          revoking: false,
          open: new Map(),
          seen: undefined,
          committed: undefined,
          batchesInHand: 0,
          idle: [],
        });
      }
    },

    /**
     * The partitions leave this member: no new work, the batch in hand finishes, what is finished
     * is committed, then the partitions are forgotten (deferred records are aborted). Bounded, so
     * a member stuck on a dead dependency lets the group move on; what it could not commit is
     * handled again by the next owner. Without `commit` (the assignment was lost: the partitions
     * are someone else's already), they are forgotten at once.
     */
    async revoke(tps: TopicPartition[], revokeOptions: { commit?: boolean } = {}): Promise<void> {
      const states = tps.flatMap((tp) => partitions.get(partitionId(tp)) ?? []);
      for (const state of states) state.revoking = true;
      if (!closed && (revokeOptions.commit ?? true)) {
        const deadline = Date.now() + REVOKE_BUDGET_MS;
        await settled(states, REVOKE_BUDGET_MS);
        let budget: NodeJS.Timeout | undefined;
        const outOfTime = new Promise<'late'>((resolve) => {
          budget = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
        });
        const outcome = await Promise.race([flush().then(() => 'done' as const), outOfTime]);
        clearTimeout(budget);
        if (outcome === 'late')
          log.warn(
            { partitions: states.map((state) => state.tp.partition) },
            'revoked partitions not committed in time; the next owner repeats their last records',
          );
      }
      forget(states);
    },

    /** Registers a batch of one partition; undefined when the batch is not this member's to handle. */
    begin(tp: TopicPartition, firstOffset: string, lastOffset: string): Work | undefined {
      const state = partitions.get(partitionId(tp));
      if (!state || state.revoking || closed) return undefined;
      const first = BigInt(firstOffset);
      state.committed ??= first;
      const { ticket, current } = open(state, first);
      state.seen = BigInt(lastOffset) + 1n;
      state.batchesInHand += 1;
      let ended = false;
      const end = () => {
        if (ended) return false;
        ended = true;
        state.open.delete(ticket);
        batchEnded(state);
        return true;
      };
      return {
        get leaving() {
          return state.revoking || !current();
        },
        done() {
          if (end() && current()) schedule();
        },
        abandon() {
          // The batch will be read again from its first record: nothing from it on is finished.
          if (end()) state.seen = first;
        },
      };
    },

    /** Holds `offset` of a partition back from commits; undefined when the partition is not owned. */
    hold(tp: TopicPartition, offset: string): Hold | undefined {
      const state = partitions.get(partitionId(tp));
      if (!state || closed) return undefined;
      const { ticket, current } = open(state, BigInt(offset));
      return {
        signal: state.controller.signal,
        get current() {
          return current();
        },
        release() {
          if (state.open.delete(ticket) && current()) schedule();
        },
      };
    },

    assignment(): TopicPartition[] {
      return [...partitions.values()].map((state) => state.tp);
    },

    flush,

    /**
     * Before leaving the group: no new work; batches in hand finish (bounded), what is finished is
     * committed, and deferred records are aborted (the next owner reads them again).
     */
    async close(budgetMs: number): Promise<void> {
      const states = [...partitions.values()];
      for (const state of states) state.revoking = true;
      await settled(states, budgetMs);
      await flush();
      closed = true;
      clearTimeout(timer);
      forget(states);
    },
  };
}
