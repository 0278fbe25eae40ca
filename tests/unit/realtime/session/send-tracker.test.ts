import { describe, expect, it, vi } from 'vitest';
import { SendTracker } from '../../../../src/realtime/session/send-tracker.js';
import { deferred } from '../session-harness.js';

function tracker() {
  const bytes = { held: 0, reserve: (cost: number) => (bytes.held += cost), release: (cost: number) => (bytes.held -= cost) };
  return { tracker: new SendTracker(bytes), bytes };
}

describe('send tracker', () => {
  it("should hold a SEND's bytes until it is answered", async () => {
    const { tracker: sends, bytes } = tracker();
    const first = deferred();
    const second = deferred();
    sends.track(first.promise, 300);
    sends.track(second.promise, 200);
    expect(sends.size).toBe(2);
    expect(bytes.held).toBe(500);
    first.resolve();
    await vi.waitFor(() => expect(bytes.held).toBe(200));
    expect(sends.size).toBe(1);
  });

  it('should settle once every tracked SEND is answered', async () => {
    const { tracker: sends } = tracker();
    const answer = deferred();
    sends.track(answer.promise, 1);
    let settled = false;
    void sends.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    answer.resolve();
    await vi.waitFor(() => expect(settled).toBe(true));
  });

  it('should stop waiting at the bound when an answer never comes', async () => {
    vi.useFakeTimers();
    try {
      const { tracker: sends } = tracker();
      sends.track(new Promise(() => {}), 1);
      let settled = false;
      void sends.settledWithin(1_000).then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(999);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(settled).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('should not wait at all when nothing is in flight', async () => {
    const { tracker: sends } = tracker();
    await expect(sends.settledWithin(60_000)).resolves.toBeUndefined();
  });
});
