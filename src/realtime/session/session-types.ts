import type { StompFrame } from '../../stomp/index.js';
import type { Destination } from '../destinations.js';

/** The socket as a session sees it; realtime.ts adapts a `ws` WebSocket to it. */
export interface SessionTransport {
  send(frame: Buffer): void;
  close(code: number, reason: string): void;
  terminate(): void;
  bufferedAmount(): number;
  /** A transport-level liveness probe (WebSocket ping); the answer is reported with `markAlive`. */
  ping?(): void;
  /** Stops reading the socket, so TCP pushes back on the client; `resume` reads it again. */
  pause?(): void;
  resume?(): void;
}

export interface SessionUser {
  userId: number;
  email: string;
  nickname: string;
}

/** A verified token's user, and when the token stops being valid (epoch ms; none: never). */
export type AuthenticatedUser = SessionUser & { expiresAt?: number };

/** What a SEND handler returns once the message is handed on: `durable` settles when it is safe. */
export interface SendAccepted {
  durable: Promise<void>;
  /** Extra headers for the RECEIPT (e.g. the message key the server assigned). */
  receiptHeaders?: Record<string, string>;
}

/** Who sent a frame, as the services see it. */
export interface SessionIdentity {
  readonly id: string;
  readonly user: SessionUser | undefined;
}

export interface SessionServices {
  /** Resolves the user behind a token, or throws an UNAUTHORIZED AppError. */
  authenticate(token: string): Promise<AuthenticatedUser>;
  /** Throws a FORBIDDEN AppError when the user may not subscribe there. */
  authorizeSubscribe(user: SessionUser, destination: Destination): Promise<void>;
  /**
   * Settles once messages for a newly subscribed destination reach this instance; rejects (an
   * UNAVAILABLE AppError) when that could not be confirmed in time.
   */
  subscribed?(destination: Destination): Promise<void>;
  send(session: SessionIdentity, destination: Destination, frame: StompFrame): Promise<SendAccepted>;
  onConnected?(session: SessionIdentity): void;
  onClosed?(session: SessionIdentity): void;
  onFrame?(direction: 'in' | 'out', command: string): void;
  onRejected?(reason: string): void;
  /** The session stopped reading its socket until its queued frames drain (TCP back-pressure). */
  onReadPaused?(): void;
}

/** awaiting-connect → connecting → connected → closing → closed; any state may go to closed. */
export type SessionState = 'awaiting-connect' | 'connecting' | 'connected' | 'closing' | 'closed';
