/**
 * SENDs handed on (to Kafka) whose outcome the client has not been told yet. Each settles into
 * exactly one answer (its RECEIPT or its error), written by the callback the handler attached;
 * the tracker only knows when they are all answered, and holds their bytes against the session's
 * inbound limit until then.
 */
export class SendTracker {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly bytes: { reserve(cost: number): void; release(cost: number): void },
    private readonly timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout } = globalThis,
  ) {}

  get size(): number {
    return this.inFlight.size;
  }

  /** `answered` must never reject: it is the SEND's answer being written. */
  track(answered: Promise<void>, cost: number): void {
    this.bytes.reserve(cost);
    const tracked = answered.finally(() => {
      this.inFlight.delete(tracked);
      this.bytes.release(cost);
    });
    this.inFlight.add(tracked);
  }

  /** Settles once every SEND tracked so far is answered. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** Like `settled`, but waits at most `maxWaitMs` (Kafka may be away). */
  async settledWithin(maxWaitMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = this.timers.setTimeout(resolve, maxWaitMs);
    });
    await Promise.race([this.settled(), bound]);
    this.timers.clearTimeout(timer);
  }
}
