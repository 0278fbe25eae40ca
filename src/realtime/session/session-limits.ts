import type { StompParserLimits } from '../../stomp/index.js';

/** One session's limits and timeouts; realtime-settings.ts reads them from the environment. */
export interface SessionLimits {
  parser: Partial<StompParserLimits>;
  maxSubscriptions: number;
  /** Frames accepted but not yet handled; more is a flood (one WebSocket message can carry many). */
  maxPendingFrames: number;
  /**
   * Bytes a session may hold for its client: frames waiting to be handled, SENDs waiting for
   * Kafka, and WebSocket messages held while reading is paused. Passing it is fatal.
   */
  maxInboundBytes: number;
  /** Above this many held bytes (or a quarter of `maxPendingFrames`) the socket is no longer read. */
  readPauseBytes: number;
  /** Reading resumes once the held bytes are back at or under this and no frame waits. */
  readResumeBytes: number;
  /** Bytes queued on the socket beyond which the client counts as not reading. */
  maxBufferedBytes: number;
  /**
   * The shortest heart-beat interval either way. The server can send and receive as often as
   * this, so a client's `heart-beat` is honoured as asked, only raised to this floor.
   */
  heartbeatFloorMs: number;
  /** A connection that has not completed CONNECT within this is refused. */
  connectTimeoutMs: number;
  /** How long a closing session waits for the RECEIPTs of SENDs still in flight (Kafka down). */
  maxReceiptWaitMs: number;
  /**
   * A frame must arrive whole within this of its first byte. Without it a client that sends half
   * a frame and then a byte now and then (slowloris), or none while answering pings, holds its
   * session and its buffered bytes forever.
   */
  frameTimeoutMs: number;
  /** Unacknowledged MESSAGEs remembered per `client`/`client-individual` subscription. */
  maxUnackedPerSubscription: number;
}

export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({
  parser: {},
  maxSubscriptions: 100,
  maxPendingFrames: 256,
  maxInboundBytes: 1024 * 1024,
  readPauseBytes: 256 * 1024,
  readResumeBytes: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
  heartbeatFloorMs: 1_000,
  connectTimeoutMs: 10_000,
  maxReceiptWaitMs: 10_000,
  frameTimeoutMs: 30_000,
  maxUnackedPerSubscription: 1_000,
});
