/**
 * Waits for messages that something names before they are stored: a read receipt for a message
 * its reader saw live (and, later, an edit or a delete of it) can reach its consumer before the
 * persistence consumer stored the message, by milliseconds normally, by minutes while PostgreSQL
 * fails over. Every waiting message is looked up in one query per poll, whoever waits for it.
 * A wait ends when the message is stored (with its id), when `timeoutMs` passed and a lookup
 * then still found nothing (MessageNotStoredError: a lookup that failed proves nothing, so an
 * outage never ends a wait), or when its signal aborts.
 */
import type { Logger } from '../logger.js';
import { roomKey, type RoomMessageRef } from './message-store.js';

export class MessageNotStoredError extends Error {
  override name = 'MessageNotStoredError';
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise<void>((resolve) => {
      setTimeout(resolve, ms).unref();
    }),
};

interface Waiter {
  deadline: number;
  resolve(id: number): void;
  reject(error: Error): void;
}

export interface MessageArrivals {
  /** Resolves with the message's id once it is stored in its room. */
  waitFor(ref: RoomMessageRef, signal?: AbortSignal): Promise<number>;
  /** Messages waited for right now. */
  waiting(): number;
}

export function createMessageArrivals(deps: {
  /** The stored ones among `refs`, as `roomKey(ref)` → id. */
  find(refs: RoomMessageRef[]): Promise<Map<string, number>>;
  timeoutMs: number;
  pollIntervalMs?: number;
  clock?: Clock;
  log: Logger;
}): MessageArrivals {
  const clock = deps.clock ?? systemClock;
  const pollIntervalMs = deps.pollIntervalMs ?? 250;
  const pending = new Map<string, { ref: RoomMessageRef; waiters: Set<Waiter> }>();
  let polling = false;

  function remove(id: string, waiter: Waiter): void {
    const entry = pending.get(id);
    if (!entry) return;
    entry.waiters.delete(waiter);
    if (entry.waiters.size === 0) pending.delete(id);
  }

  async function poll(): Promise<void> {
    polling = true;
    try {
      while (pending.size > 0) {
        await clock.sleep(pollIntervalMs);
        const entries = [...pending.entries()];
        if (entries.length === 0) break;
        let found: Map<string, number>;
        try {
          found = await deps.find(entries.map(([, entry]) => entry.ref));
        } catch (error) {
          deps.log.debug({ err: error, waiting: entries.length }, 'lookup of awaited messages failed; still waiting');
          continue;
        }
        const now = clock.now();
        for (const [id, entry] of entries) {
          const messageId = found.get(id);
          for (const waiter of [...entry.waiters]) {
            if (messageId !== undefined) waiter.resolve(messageId);
            else if (now >= waiter.deadline) {
              waiter.reject(
                new MessageNotStoredError(
                  `message ${entry.ref.messageKey} not stored in room ${entry.ref.roomId} after ${deps.timeoutMs} ms`,
                ),
              );
            } else continue;
            remove(id, waiter);
          }
        }
      }
    } finally {
      polling = false;
    }
  }

  return {
    waitFor(ref, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      return new Promise<number>((resolve, reject) => {
        const id = roomKey(ref);
        const onAbort = () => {
          remove(id, waiter);
          reject(signal!.reason as Error);
        };
        const waiter: Waiter = {
          deadline: clock.now() + deps.timeoutMs,
          resolve: (messageId) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(messageId);
          },
          reject: (error) => {
            signal?.removeEventListener('abort', onAbort);
            reject(error);
          },
        };
        const entry = pending.get(id) ?? { ref: { roomId: ref.roomId, messageKey: ref.messageKey }, waiters: new Set<Waiter>() };
        entry.waiters.add(waiter);
        pending.set(id, entry);
        signal?.addEventListener('abort', onAbort, { once: true });
        if (!polling) void poll();
      });
    },
    waiting: () => pending.size,
  };
}
