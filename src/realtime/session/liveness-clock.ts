/**
 * One session's liveness clocks (STOMP 1.2 "Heart-beating"). The session reports what happens:
 * bytes in and out, a ping sent, a frame begun or finished, reading paused or resumed, a token's
 * expiry. The heartbeat monitor alone reads them and decides; nothing outside sets a time.
 *
 * Invariants:
 * - While the server is not reading the socket (TCP back-pressure), the client cannot be heard:
 *   that time is neither silence nor time spent on an unfinished frame.
 * - A frame's clock starts at its first byte and stops at its NULL (or at a heart-beat's EOL).
 */
export interface ClockLimits {
  connectTimeoutMs: number;
  frameTimeoutMs: number;
}

export class LivenessClock {
  private lastReceivedAt: number;
  private lastSentAt: number;
  private lastProbedAt = 0;
  private resumedAt = 0;
  private pausedAt: number | undefined;
  private frameStartedAt: number | undefined;
  private expiresAt: number | undefined;
  private readonly connectDeadline: number;

  constructor(
    private readonly now: () => number,
    private readonly limits: ClockLimits,
  ) {
    const openedAt = now();
    this.lastReceivedAt = openedAt;
    this.lastSentAt = openedAt;
    this.connectDeadline = openedAt + limits.connectTimeoutMs;
  }

  // What the session reports.

  /** Bytes, or a pong, arrived from the client. */
  received(): void {
    this.lastReceivedAt = this.now();
  }

  sent(): void {
    this.lastSentAt = this.now();
  }

  probed(): void {
    this.lastProbedAt = this.now();
  }

  /** After a chunk was parsed: is the parser inside a frame? Starts the frame clock if needed. */
  frameProgress(inFrame: boolean): void {
    if (!inFrame) this.frameStartedAt = undefined;
    else this.frameStartedAt ??= this.lastReceivedAt;
  }

  /** A frame (or a heart-beat) ended; what follows in the same chunk starts a clock of its own. */
  frameEnded(): void {
    this.frameStartedAt = undefined;
  }

  readingPaused(): void {
    this.pausedAt ??= this.now();
  }

  readingResumed(): void {
    if (this.pausedAt === undefined) return;
    const now = this.now();
    if (this.frameStartedAt !== undefined) this.frameStartedAt += now - this.pausedAt;
    this.pausedAt = undefined;
    this.resumedAt = now;
  }

  /** When the session's token expires (epoch ms), or undefined for never. */
  expireAt(at: number | undefined): void {
    this.expiresAt = at;
  }

  // What the heartbeat monitor reads.

  get isPaused(): boolean {
    return this.pausedAt !== undefined;
  }

  /** How long the client has not been heard, not counting time the server was not listening. */
  silentMs(now: number): number {
    if (this.pausedAt !== undefined) return 0;
    return now - Math.max(this.lastReceivedAt, this.resumedAt);
  }

  sinceSentMs(now: number): number {
    return now - this.lastSentAt;
  }

  sinceProbedMs(now: number): number {
    return now - this.lastProbedAt;
  }

  /** A ping went out after the client was last heard, and nothing has come back since. */
  get probeUnanswered(): boolean {
    return this.lastProbedAt > Math.max(this.lastReceivedAt, this.resumedAt);
  }

  connectOverdue(now: number): boolean {
    return now > this.connectDeadline;
  }

  frameOverdue(now: number): boolean {
    if (this.frameStartedAt === undefined || this.pausedAt !== undefined) return false;
    return now - this.frameStartedAt > this.limits.frameTimeoutMs;
  }

  tokenExpired(now: number): boolean {
    return this.expiresAt !== undefined && now >= this.expiresAt;
  }
}
