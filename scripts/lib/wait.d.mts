export function sleep(ms: number): Promise<void>;
/** Polls until `probe` says 'ok' or `timeoutMs` passes; resolves with its last answer either way. */
export function waitForProbe<R extends { state: string; detail?: string }>(
  probe: () => Promise<R>,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    /** After each failed attempt; throw to give up early. */
    onTick?: (last: R) => unknown;
    onSlow?: (elapsedMs: number, last: R) => void;
    slowEveryMs?: number;
  },
): Promise<R>;
export function secondsSince(startMs: number): string;
