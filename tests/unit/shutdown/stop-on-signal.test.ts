import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createSignalGate } from '../../../src/shutdown/signal-gate.js';
import { stopOnSignal } from '../../../src/shutdown/stop-on-signal.js';
import { waitFor } from '../../helpers/wait.js';

function harness(options: { timeoutMs?: number; abandoned?: number } = {}) {
  const signals = new EventEmitter();
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const outcome: { exit?: number; forced?: NodeJS.Signals } = {};
  let closes = 0;
  let finishClose: (() => void) | undefined;
  stopOnSignal({
    log,
    timeoutMs: options.timeoutMs ?? 60_000,
    close: () => {
      closes += 1;
      return new Promise<void>((resolve) => {
        finishClose = resolve;
      });
    },
    gate: createSignalGate({ duplicateWindowMs: 200 }),
    signals: signals as unknown as NodeJS.Process,
    exit: (code) => {
      outcome.exit = code;
    },
    forceExit: (signal) => {
      outcome.forced = signal;
    },
    abandoned: () => options.abandoned ?? 0,
  });
  return {
    signals,
    lines,
    outcome,
    closes: () => closes,
    finishClose: () => finishClose?.(),
    messages: () => lines.map((line) => line.msg),
  };
}

describe('stopOnSignal', () => {
  it('should stop once and exit 0 when the copies of one signal arrive together', async () => {
    const stop = harness();
    stop.signals.emit('SIGINT', 'SIGINT');
    stop.signals.emit('SIGINT', 'SIGINT');
    stop.signals.emit('SIGINT', 'SIGINT');
    expect(stop.closes()).toBe(1);
    stop.finishClose();
    await waitFor(() => stop.outcome.exit !== undefined);
    expect(stop.outcome).toEqual({ exit: 0 });
    expect(stop.messages().filter((message) => message === 'shutting down')).toHaveLength(1);
    expect(stop.messages()).toContain('shutdown complete');
    expect(stop.messages()).not.toContain('second signal: forcing exit');
    // Released: a later signal would meet its default action, not this handler.
    expect(stop.signals.listenerCount('SIGINT')).toBe(0);
    expect(stop.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('should force the exit with the second signal when one comes after the window', async () => {
    const stop = harness();
    stop.signals.emit('SIGTERM', 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 250));
    stop.signals.emit('SIGTERM', 'SIGTERM');
    expect(stop.outcome).toEqual({ forced: 'SIGTERM' });
    expect(stop.messages()).toContain('second signal: forcing exit');
  });

  it('should force the exit when the graceful stop outlives its deadline', async () => {
    const stop = harness({ timeoutMs: 50 });
    stop.signals.emit('SIGINT', 'SIGINT');
    await waitFor(() => stop.outcome.forced, { timeoutMs: 2_000 });
    expect(stop.outcome).toEqual({ forced: 'SIGINT' });
    expect(stop.messages()).toContain('shutdown timed out: forcing exit');
  });

  it('should force the exit rather than exit 0 while work it gave up on may still hold a thread', async () => {
    const stop = harness({ abandoned: 1 });
    stop.signals.emit('SIGTERM', 'SIGTERM');
    stop.finishClose();
    await waitFor(() => stop.outcome.forced, { timeoutMs: 2_000 });
    expect(stop.outcome).toEqual({ forced: 'SIGTERM' });
    expect(stop.messages()).not.toContain('shutdown complete');
  });
});
