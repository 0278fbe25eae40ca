import type { Logger } from '../logger.js';
import { abandonedPending } from '../with-timeout.js';
import { createSignalGate, type SignalGate } from './signal-gate.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Ends the process at once by dying of `signal`, as a process without a handler for it would.
 *
 * Why not process.exit(): it joins libuv's thread-pool threads before the process ends, and
 * librdkafka's blocking calls run there. A consumer's close waits without a deadline for its
 * broker and for the rebalance callback, which only the main thread can run; called during a
 * close, process.exit() waited for that thread forever (gdb: the main thread in
 * uv__threadpool_cleanup → pthread_join, a pool thread in rd_kafka_consumer_close). The kernel
 * ends a process killed by a signal without running any of that. Log lines are already written:
 * pino writes synchronously.
 */
export function exitBySignal(signal: NodeJS.Signals): never {
  // With no listener left, libuv restores the default action, which is to terminate.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Only reached if the signal is ignored after all.
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: the process was killed');
}

export interface StopOnSignalOptions {
  log: Logger;
  /** Bound on the graceful stop; past it the exit is forced. */
  timeoutMs: number;
  /** The graceful stop. */
  close(): Promise<void>;
  gate?: SignalGate;
  /** Tests replace the process's signals, exit and kill. */
  signals?: Pick<NodeJS.Process, 'on' | 'removeListener'>;
  exit?: (code: number) => void;
  forceExit?: (signal: NodeJS.Signals) => void;
  /** Promises given up on that may still hold a thread-pool thread; exiting normally waits for those. */
  abandoned?: () => number;
}

/**
 * SIGTERM/SIGINT stop the process gracefully, bounded by `timeoutMs`: one request, however many
 * copies of the signal arrive with it (signal-gate.ts). A second request, or the deadline, ends the
 * process at once, whatever librdkafka is doing. A graceful stop exits 0; if a step of it was given
 * up on and may still hold a thread-pool thread, the exit is forced instead, since process.exit()
 * would wait for that thread.
 */
export function stopOnSignal(options: StopOnSignalOptions): void {
  const { log, timeoutMs } = options;
  const gate = options.gate ?? createSignalGate();
  const signals = options.signals ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const forceExit = options.forceExit ?? exitBySignal;
  const abandoned = options.abandoned ?? abandonedPending;

  let deadline: NodeJS.Timeout | undefined;
  const release = () => {
    clearTimeout(deadline);
    // From here on a signal has its default action, so even an exit that hangs ends at the next one.
    for (const signal of STOP_SIGNALS) signals.removeListener(signal, onSignal);
  };
  const finish = (code: number, signal: NodeJS.Signals) => {
    const pending = abandoned();
    if (pending > 0) {
      log.warn({ pending }, 'shutdown gave up on work that is still running: forcing exit');
      return forceExit(signal);
    }
    if (code === 0) log.info('shutdown complete');
    release();
    exit(code);
  };

  function onSignal(signal: NodeJS.Signals): void {
    const verdict = gate.classify(signal);
    if (verdict === 'duplicate') {
      log.debug({ signal }, 'the same signal again: one stop request');
      return;
    }
    if (verdict === 'force') {
      log.warn({ signal }, 'second signal: forcing exit');
      forceExit(signal);
      return;
    }
    log.info({ signal, timeoutMs }, 'shutting down');
    // Not unref'd: should the loop run dry with the stop unfinished, the process still ends here
    // rather than in a natural exit, which joins the thread pool like process.exit() does.
    deadline = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out: forcing exit');
      forceExit(signal);
    }, timeoutMs);
    options.close().then(
      () => finish(0, signal),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        finish(1, signal);
      },
    );
  }

  for (const signal of STOP_SIGNALS) signals.on(signal, onSignal);
}
