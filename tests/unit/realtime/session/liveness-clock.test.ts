import { describe, expect, it } from 'vitest';
import { LivenessClock } from '../../../../src/realtime/session/liveness-clock.js';

function clockAt(start = 1_000_000) {
  let now = start;
  const clock = new LivenessClock(() => now, { connectTimeoutMs: 10_000, frameTimeoutMs: 30_000 });
  return { clock, advance: (ms: number) => (now += ms), now: () => now };
}

describe('liveness clock', () => {
  it('should count silence from the last bytes received', () => {
    const { clock, advance, now } = clockAt();
    advance(4_000);
    expect(clock.silentMs(now())).toBe(4_000);
    clock.received();
    advance(1_000);
    expect(clock.silentMs(now())).toBe(1_000);
  });

  it('should count no silence while reading is paused, and count it afresh from the resume', () => {
    const { clock, advance, now } = clockAt();
    clock.readingPaused();
    advance(60_000);
    expect(clock.silentMs(now())).toBe(0);
    expect(clock.isPaused).toBe(true);
    clock.readingResumed();
    advance(500);
    expect(clock.silentMs(now())).toBe(500);
  });

  it('should not count paused time against a frame that was under way', () => {
    const { clock, advance, now } = clockAt();
    clock.received();
    clock.frameProgress(true);
    advance(20_000);
    clock.readingPaused();
    advance(60_000);
    expect(clock.frameOverdue(now())).toBe(false);
    clock.readingResumed();
    advance(9_000);
    expect(clock.frameOverdue(now())).toBe(false);
    advance(2_000);
    expect(clock.frameOverdue(now())).toBe(true);
  });

  it('should start a frame clock at the first byte of a frame and stop it at its end', () => {
    const { clock, advance, now } = clockAt();
    clock.received();
    clock.frameProgress(true);
    advance(10_000);
    clock.received();
    clock.frameProgress(true);
    advance(21_000);
    expect(clock.frameOverdue(now())).toBe(true);
    clock.frameEnded();
    expect(clock.frameOverdue(now())).toBe(false);
  });

  it('should know a ping unanswered only while nothing came back after it', () => {
    const { clock, advance } = clockAt();
    advance(1_000);
    clock.probed();
    expect(clock.probeUnanswered).toBe(true);
    advance(1_000);
    clock.received();
    expect(clock.probeUnanswered).toBe(false);
  });

  it('should be overdue for CONNECT only after the connect timeout', () => {
    const { clock, advance, now } = clockAt();
    advance(10_000);
    expect(clock.connectOverdue(now())).toBe(false);
    advance(1);
    expect(clock.connectOverdue(now())).toBe(true);
  });

  it('should report a token expired from its expiry on, and never without one', () => {
    const { clock, advance, now } = clockAt();
    expect(clock.tokenExpired(now() + 10 ** 12)).toBe(false);
    clock.expireAt(now() + 5_000);
    advance(4_999);
    expect(clock.tokenExpired(now())).toBe(false);
    advance(1);
    expect(clock.tokenExpired(now())).toBe(true);
  });
});
