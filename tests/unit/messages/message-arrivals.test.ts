import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMessageArrivals, MessageNotStoredError, type Clock } from '../../../src/messages/message-arrivals.js';
import { roomKey, type RoomMessageRef } from '../../../src/messages/message-store.js';

/** Time moves only when the test says so; each sleeper wakes once its time has come. */
function manualClock() {
  let now = 0;
  let sleepers: { at: number; wake: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => sleepers.push({ at: now + ms, wake: resolve })),
  };
  return {
    clock,
    /** Moves time on by `ms`, a poll interval at a time, letting each poll's lookup settle. */
    async advance(ms: number, step = 250) {
      for (let moved = 0; moved < ms; moved += step) {
        now += step;
        const due = sleepers.filter((sleeper) => sleeper.at <= now);
        sleepers = sleepers.filter((sleeper) => sleeper.at > now);
        for (const sleeper of due) sleeper.wake();
        for (let turn = 0; turn < 10; turn += 1) await Promise.resolve();
      }
    },
  };
}

const ref = (messageKey: string, roomId = 1): RoomMessageRef => ({ roomId, messageKey });
const KEY_A = '00000000-0000-4000-8000-00000000000a';
const KEY_B = '00000000-0000-4000-8000-00000000000b';

function arrivals(stored: Map<string, number>, options: { failing?: () => boolean; timeoutMs?: number } = {}) {
  const time = manualClock();
  const lookups: RoomMessageRef[][] = [];
  const instance = createMessageArrivals({
    find: async (refs) => {
      lookups.push(refs);
      if (options.failing?.()) throw new Error('connection refused');
      return new Map(
        refs.flatMap((candidate) => (stored.has(roomKey(candidate)) ? [[roomKey(candidate), stored.get(roomKey(candidate))!]] : [])),
      );
    },
    timeoutMs: options.timeoutMs ?? 60_000,
    pollIntervalMs: 250,
    clock: time.clock,
    log: pino({ level: 'silent' }),
  });
  return { arrivals: instance, time, lookups };
}

describe('message arrivals', () => {
  it('should resolve with the id once the message is stored, looking every waiting message up in one query', async () => {
    const stored = new Map<string, number>();
    const { arrivals: waiting, time, lookups } = arrivals(stored);
    const first = waiting.waitFor(ref(KEY_A));
    const second = waiting.waitFor(ref(KEY_B));

    await time.advance(1_000);
    stored.set(roomKey(ref(KEY_A)), 41);
    stored.set(roomKey(ref(KEY_B)), 42);
    await time.advance(250);

    expect(await first).toBe(41);
    expect(await second).toBe(42);
    expect(lookups.every((refs) => refs.length === 2)).toBe(true);
    expect(waiting.waiting()).toBe(0);
  });

  it('should look a key up in its room only, and match it in any letter case', async () => {
    const stored = new Map([[roomKey(ref(KEY_A, 2)), 7]]);
    const { arrivals: waiting, time } = arrivals(stored, { timeoutMs: 1_000 });
    const otherRoom = waiting.waitFor(ref(KEY_A, 1));
    const upperCase = waiting.waitFor(ref(KEY_A.toUpperCase(), 2));
    const outcome = otherRoom.catch((error: unknown) => error);

    await time.advance(1_250);

    expect(await upperCase).toBe(7);
    expect(await outcome).toBeInstanceOf(MessageNotStoredError);
  });

  it('should give up after the timeout with MessageNotStoredError naming the key, the room and the wait', async () => {
    const { arrivals: waiting, time } = arrivals(new Map(), { timeoutMs: 60_000 });
    const outcome = waiting.waitFor(ref(KEY_A, 9)).catch((error: unknown) => error);

    await time.advance(59_750);
    expect(waiting.waiting()).toBe(1);
    await time.advance(250);

    const error = (await outcome) as Error;
    expect(error).toBeInstanceOf(MessageNotStoredError);
    expect(error.message).toBe(`message ${KEY_A} not stored in room 9 after 60000 ms`);
  });

  it('should not give up while lookups fail, and find the message once they work again', async () => {
    let failing = true;
    const stored = new Map<string, number>();
    const { arrivals: waiting, time } = arrivals(stored, { failing: () => failing, timeoutMs: 1_000 });
    const outcome = waiting.waitFor(ref(KEY_A));

    await time.advance(5_000);
    stored.set(roomKey(ref(KEY_A)), 3);
    failing = false;
    await time.advance(250);

    expect(await outcome).toBe(3);
  });

  it('should stop waiting when its signal aborts, without disturbing another wait for the same message', async () => {
    const stored = new Map<string, number>();
    const { arrivals: waiting, time } = arrivals(stored);
    const controller = new AbortController();
    const aborted = waiting.waitFor(ref(KEY_A), controller.signal).catch((error: unknown) => error);
    const kept = waiting.waitFor(ref(KEY_A));

    controller.abort(new Error('partition revoked'));
    expect(((await aborted) as Error).message).toBe('partition revoked');
    stored.set(roomKey(ref(KEY_A)), 5);
    await time.advance(250);

    expect(await kept).toBe(5);
  });
});
