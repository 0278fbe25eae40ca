import { ConfigError, type AppConfig } from '../config.js';
import type { SessionLimits } from './session/session-limits.js';

/** Realtime settings that are not one session's: they belong to the instance's timers. */
export interface RealtimeTimings {
  /** How long a SUBSCRIBE waits for Redis to confirm the room's channel before it is refused. */
  subscribeConfirmTimeoutMs: number;
  /** Silence after which a client without heart-beats is pinged (and dropped after twice that). */
  idleProbeMs: number;
  /** How often open sessions are checked against the users table (deleted users are closed). */
  userSweepIntervalMs: number;
}

export const DEFAULT_REALTIME_TIMINGS: Readonly<RealtimeTimings> = Object.freeze({
  subscribeConfirmTimeoutMs: 5_000,
  idleProbeMs: 30_000,
  userSweepIntervalMs: 5_000,
});

/** The `STOMP_*` variables as session limits and instance timings; refuses marks in the wrong order. */
export function realtimeSettings(config: AppConfig): { limits: SessionLimits; timings: RealtimeTimings } {
  if (!(config.STOMP_READ_RESUME_BYTES < config.STOMP_READ_PAUSE_BYTES && config.STOMP_READ_PAUSE_BYTES < config.STOMP_MAX_INBOUND_BYTES)) {
    throw new ConfigError(['STOMP_READ_RESUME_BYTES, STOMP_READ_PAUSE_BYTES, STOMP_MAX_INBOUND_BYTES: must be in increasing order']);
  }
  return {
    limits: {
      parser: {},
      maxSubscriptions: config.STOMP_MAX_SUBSCRIPTIONS,
      maxPendingFrames: config.STOMP_MAX_PENDING_FRAMES,
      maxInboundBytes: config.STOMP_MAX_INBOUND_BYTES,
      readPauseBytes: config.STOMP_READ_PAUSE_BYTES,
      readResumeBytes: config.STOMP_READ_RESUME_BYTES,
      maxBufferedBytes: config.STOMP_MAX_OUTBOUND_BYTES,
      heartbeatFloorMs: config.STOMP_HEARTBEAT_FLOOR_MS,
      connectTimeoutMs: config.STOMP_CONNECT_TIMEOUT_MS,
      maxReceiptWaitMs: config.STOMP_RECEIPT_WAIT_MS,
      frameTimeoutMs: config.STOMP_FRAME_TIMEOUT_MS,
      maxUnackedPerSubscription: config.STOMP_MAX_UNACKED,
    },
    timings: {
      subscribeConfirmTimeoutMs: config.STOMP_SUBSCRIBE_CONFIRM_TIMEOUT_MS,
      idleProbeMs: config.STOMP_IDLE_PING_MS,
      userSweepIntervalMs: config.STOMP_USER_SWEEP_INTERVAL_MS,
    },
  };
}
