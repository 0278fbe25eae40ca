/**
 * The ways a session is ended from outside its own frames, each with the ERROR it gets. The
 * heartbeat monitor ends sessions past a deadline; the deleted-user sweep ends a deleted user's.
 * Endings of a connected session wait for the answers to the SENDs already in flight: those were
 * accepted while the session was still good.
 */
import { FatalStompError } from './error-policy.js';
import type { SessionLimits } from './session-limits.js';
import type { SessionState } from './session-types.js';

export type SessionEnding = 'connect-timeout' | 'frame-timeout' | 'token-expired' | 'user-deleted';

export interface Ending {
  /** The `onRejected` reason (a metrics label). */
  reason: SessionEnding;
  error: FatalStompError;
  appliesIn(state: SessionState): boolean;
  afterInFlight: boolean;
}

const connected = (state: SessionState) => state === 'connected';

export function sessionEnding(kind: SessionEnding, limits: SessionLimits): Ending {
  switch (kind) {
    case 'connect-timeout':
      return {
        reason: kind,
        error: new FatalStompError('CONNECT not received in time', undefined, 1008),
        appliesIn: (state) => state === 'awaiting-connect' || state === 'connecting',
        afterInFlight: false,
      };
    case 'frame-timeout': {
      const detail = `a frame must arrive whole within ${limits.frameTimeoutMs} ms of its first byte`;
      return {
        reason: kind,
        error: new FatalStompError('frame not completed in time', detail, 1008),
        appliesIn: (state) => state !== 'closed',
        afterInFlight: false,
      };
    }
    case 'token-expired': {
      const detail = 'connect again with a fresh token, or renew it before it expires: SEND /app/token.refresh';
      return { reason: kind, error: new FatalStompError('token expired', detail, 1008), appliesIn: connected, afterInFlight: true };
    }
    case 'user-deleted':
      return {
        reason: kind,
        error: new FatalStompError('User no longer exists', undefined, 1008),
        appliesIn: connected,
        afterInFlight: true,
      };
  }
}
