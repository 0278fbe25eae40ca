/**
 * Inbound back-pressure for one session (issue 20: push back instead of cutting clients off).
 *
 * Invariants:
 * - Everything the session holds for its client is counted in bytes: frames waiting to be
 *   handled, SENDs handed to Kafka and not yet acknowledged, and WebSocket messages held unparsed
 *   while reading is paused. A frame costs its bytes plus the objects that hold it.
 * - Past the pause mark (bytes, or a quarter of the frame limit) the socket is no longer read, so
 *   TCP pushes back on the client; messages already on their way are held as raw bytes, not
 *   parsed. Held messages are parsed one at a time, in order, once no frame waits and the bytes
 *   queued and in flight are back under the resume mark; the socket is read again when none is
 *   left.
 * - The hard limits (frames, bytes) remain for what back-pressure cannot bound, such as one
 *   WebSocket message carrying hundreds of frames: passing one is reported, never silent.
 */
import type { StompFrame } from '../../stomp/index.js';
import type { SessionLimits } from './session-limits.js';

/** What a parsed frame or a held message costs beyond its bytes (objects, arrays, strings). */
export const FRAME_OVERHEAD_BYTES = 256;
export const HELD_MESSAGE_OVERHEAD_BYTES = 64;

export function frameCost(frame: StompFrame): number {
  let bytes = FRAME_OVERHEAD_BYTES + frame.command.length + frame.body.length;
  for (const [name, value] of frame.headers) bytes += name.length + value.length;
  return bytes;
}

export interface FlowControl {
  pause(): void;
  resume(): void;
  /** Parses a held message; frames it yields come back through `enqueue`. */
  parse(chunk: Buffer): void;
}

export type FlowLimits = Pick<SessionLimits, 'maxPendingFrames' | 'maxInboundBytes' | 'readPauseBytes' | 'readResumeBytes'>;

export class InboundFlow {
  private frames = 0;
  /** Frames waiting and SENDs in flight. */
  private queuedBytes = 0;
  private held: Buffer[] = [];
  private heldOnly = 0;
  private paused = false;
  private feeding = false;
  private stopped = false;
  private peak = 0;
  private pauseCount = 0;
  private readonly pauseAtFrames: number;

  constructor(
    private readonly limits: FlowLimits,
    private readonly control: FlowControl,
  ) {
    this.pauseAtFrames = Math.max(1, Math.ceil(limits.maxPendingFrames / 4));
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Frames waiting to be handled. */
  get pendingFrames(): number {
    return this.frames;
  }

  /** Everything held for the client: frames waiting, SENDs in flight, messages not yet parsed. */
  get heldBytes(): number {
    return this.queuedBytes + this.heldOnly;
  }

  get peakBytes(): number {
    return this.peak;
  }

  get pauses(): number {
    return this.pauseCount;
  }

  /**
   * A WebSocket message arrived. 'parse': parse it now. 'held': kept until reading resumes.
   * 'over-limit': holding it would pass `maxInboundBytes`.
   */
  admit(chunk: Buffer): 'parse' | 'held' | 'over-limit' {
    if (!this.paused && this.held.length === 0) return 'parse';
    const cost = chunk.length + HELD_MESSAGE_OVERHEAD_BYTES;
    if (this.heldBytes + cost > this.limits.maxInboundBytes) return 'over-limit';
    this.held.push(chunk);
    this.heldOnly += cost;
    this.grew();
    return 'held';
  }

  /** A parsed frame joins the queue; false when that would pass a hard limit. */
  enqueue(cost: number): boolean {
    if (this.frames >= this.limits.maxPendingFrames || this.heldBytes + cost > this.limits.maxInboundBytes) return false;
    this.frames += 1;
    this.queuedBytes += cost;
    this.grew();
    return true;
  }

  /** A queued frame was handled. */
  dequeue(cost: number): void {
    this.frames -= 1;
    this.release(cost);
  }

  /** Bytes held beyond a frame's handling (a SEND waiting for Kafka); give them back with `release`. */
  reserve(cost: number): void {
    this.queuedBytes += cost;
    this.grew();
  }

  release(cost: number): void {
    this.queuedBytes -= cost;
    this.flow();
  }

  /** The session closed: nothing more is parsed or resumed. */
  stop(): void {
    this.stopped = true;
    this.held = [];
  }

  private grew(): void {
    if (this.heldBytes > this.peak) this.peak = this.heldBytes;
    if (!this.paused && !this.stopped && this.overPauseMark()) {
      this.paused = true;
      this.pauseCount += 1;
      this.control.pause();
    }
  }

  private overPauseMark(): boolean {
    return this.heldBytes >= this.limits.readPauseBytes || this.frames >= this.pauseAtFrames;
  }

  private flow(): void {
    if (this.feeding) return;
    // One message at a time: its frames are handled before the next is parsed, so a message of up
    // to maxPendingFrames frames is never refused because of the ones held behind it.
    while (this.paused && !this.stopped && this.frames === 0 && this.queuedBytes <= this.limits.readResumeBytes) {
      const chunk = this.held.shift();
      if (!chunk) {
        this.paused = false;
        this.control.resume();
        return;
      }
      this.heldOnly -= chunk.length + HELD_MESSAGE_OVERHEAD_BYTES;
      this.feeding = true;
      try {
        this.control.parse(chunk);
      } finally {
        this.feeding = false;
      }
    }
  }
}
