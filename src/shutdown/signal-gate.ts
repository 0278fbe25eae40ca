/**
 * Tells one stop request from the copies of it that arrive with it.
 *
 * A terminal's Ctrl-C reaches every process of the foreground group, and a parent that forwards
 * signals (npm, a shell that exec'd the command, a wrapper) delivers the same signal again a few
 * milliseconds later; systemd's `KillMode=control-group` and `kill -- -PGID` do the same. Those
 * copies are one request. The same signal again after `duplicateWindowMs`, or another signal at
 * any time, is a second request: the user insists.
 */
export type SignalVerdict = 'stop' | 'duplicate' | 'force';

/** Long enough for a relay on a loaded machine, short enough that no human presses twice inside it. */
export const DUPLICATE_SIGNAL_WINDOW_MS = 500;

export interface SignalGate {
  classify(signal: NodeJS.Signals): SignalVerdict;
  /** The signal that started the stop, once there is one. */
  readonly first: NodeJS.Signals | undefined;
}

export function createSignalGate(options: { duplicateWindowMs?: number; now?: () => number } = {}): SignalGate {
  const windowMs = options.duplicateWindowMs ?? DUPLICATE_SIGNAL_WINDOW_MS;
  const now = options.now ?? Date.now;
  let first: NodeJS.Signals | undefined;
  // The last signal that counted as a request; copies do not move it, so a burst stays one request.
  let last: { signal: NodeJS.Signals; at: number } | undefined;
  return {
    classify(signal) {
      const at = now();
      if (!last) {
        first = signal;
        last = { signal, at };
        return 'stop';
      }
      if (signal === last.signal && at - last.at < windowMs) return 'duplicate';
      last = { signal, at };
      return 'force';
    },
    get first() {
      return first;
    },
  };
}
