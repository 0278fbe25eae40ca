/** Bounded waits. Nothing here sleeps longer than the bound it was given. */

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` (anything that resolves to `{ state, detail? }`) until its state is 'ok' or
 * `timeoutMs` has passed, and resolves with its last answer either way: the caller decides what a
 * timeout means. `onTick` runs after each failed attempt and may throw to give up early (the
 * process being waited for died); `onSlow(elapsedMs, last)` hears about a long wait every
 * `slowEveryMs`.
 */
export async function waitForProbe(probe, { timeoutMs, intervalMs = 500, onTick, onSlow, slowEveryMs = 5000 }) {
  const start = Date.now();
  let lastReport = start;
  for (;;) {
    const r = await probe();
    if (r.state === 'ok') return r;
    if (onTick) await onTick(r);
    if (Date.now() - start > timeoutMs) return r;
    if (onSlow && Date.now() - lastReport >= slowEveryMs) {
      onSlow(Date.now() - start, r);
      lastReport = Date.now();
    }
    await sleep(intervalMs);
  }
}

/** `(Date.now() - startMs)` as seconds with one decimal, for progress lines. */
export const secondsSince = (startMs) => ((Date.now() - startMs) / 1000).toFixed(1);
