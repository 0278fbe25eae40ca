import type { Logger } from '../../logger.js';
import type { StompVersion } from '../../stomp/index.js';
import type { Subscriber, SubscriptionRegistry } from '../subscription-registry.js';
import type { AckTracker } from './ack-tracker.js';
import type { Reject } from './error-policy.js';
import type { LivenessClock } from './liveness-clock.js';
import type { SendTracker } from './send-tracker.js';
import type { SessionLimits } from './session-limits.js';
import type { SessionIdentity, SessionServices, SessionState, SessionUser } from './session-types.js';

export interface NegotiatedHeartbeats {
  sendEveryMs: number;
  expectEveryMs: number;
}

/**
 * What a command handler may see and do of its session. The session builds one per connection;
 * state changes go through the transitions below, so the state machine stays in one file.
 */
export interface SessionContext {
  readonly session: Subscriber & SessionIdentity;
  readonly registry: SubscriptionRegistry;
  readonly services: SessionServices;
  readonly limits: SessionLimits;
  readonly log: Logger;
  readonly sends: SendTracker;
  readonly acks: AckTracker;
  readonly clock: LivenessClock;
  readonly serverName: string;
  /** Token from the `access_token` query parameter, for clients that cannot set CONNECT headers. */
  readonly queryToken: string | undefined;
  /** Answers a refusal a working client meets in normal use (error-policy.ts). */
  readonly reject: Reject;
  state(): SessionState;
  /** The authenticated user; only called once connected. */
  user(): SessionUser;
  /** Shutdown began: a SEND now is refused rather than produced. */
  isDraining(): boolean;

  /** awaiting-connect → connecting. */
  beginConnect(): void;
  /** Frames from now on are read and written the way this version's clients expect. */
  adoptVersion(version: StompVersion): void;
  /** connecting → connected. */
  established(user: SessionUser, heartbeat: NegotiatedHeartbeats, tokenExpiresAt: number | undefined): void;
  /** → closing: nothing more is handled; answers already owed may still be written. */
  beginClosing(): void;
  /** → closed, and the socket closed with this code (no ERROR). */
  finish(code: number, reason: string): void;
  /** Waits for the SENDs in flight to be answered, at most `maxReceiptWaitMs`. */
  settleInFlight(): Promise<void>;

  writeFrame(command: string, headers: Record<string, string>, body?: string): void;
  /** RECEIPT for `receipt` when the frame asked for one. */
  receipt(receipt: string | undefined, extra?: Record<string, string>): void;
}
