import { describe, expect, it } from 'vitest';
import { createSignalGate } from '../../../src/shutdown/signal-gate.js';

function clockedGate(windowMs = 500) {
  let now = 1_000;
  const gate = createSignalGate({ duplicateWindowMs: windowMs, now: () => now });
  return { gate, advance: (ms: number) => (now += ms) };
}

describe('signal gate', () => {
  it('should take the first signal as the stop request and remember it', () => {
    const { gate } = clockedGate();
    expect(gate.first).toBeUndefined();
    expect(gate.classify('SIGINT')).toBe('stop');
    expect(gate.first).toBe('SIGINT');
  });

  it('should count copies of the same signal within the window as one request', () => {
    const { gate, advance } = clockedGate();
    gate.classify('SIGINT');
    advance(2);
    expect(gate.classify('SIGINT')).toBe('duplicate');
    advance(300);
    expect(gate.classify('SIGINT')).toBe('duplicate');
  });

  it('should not let a burst of copies stretch the window', () => {
    const { gate, advance } = clockedGate();
    gate.classify('SIGTERM');
    for (let copy = 0; copy < 4; copy += 1) {
      advance(120);
      gate.classify('SIGTERM');
    }
    advance(100);
    expect(gate.classify('SIGTERM')).toBe('force');
  });

  it('should force when the same signal comes again after the window', () => {
    const { gate, advance } = clockedGate();
    gate.classify('SIGINT');
    advance(500);
    expect(gate.classify('SIGINT')).toBe('force');
  });

  it('should force when another signal comes, even at once', () => {
    const { gate, advance } = clockedGate();
    gate.classify('SIGTERM');
    advance(1);
    expect(gate.classify('SIGINT')).toBe('force');
    expect(gate.first).toBe('SIGTERM');
  });
});
