/**
 * Which refusals end a session (SPEC §6; STOMP 1.2 "ERROR": the server closes after sending one).
 *
 * - Fatal (a FatalStompError): protocol errors, bad credentials, unknown commands or destinations,
 *   limits. One ERROR frame, with the failing frame's `receipt` as `receipt-id`, then a close.
 * - Per session: refusals a well-behaved client meets in normal use (an AppError: rate limit,
 *   invalid body, not a member, Kafka or Redis unavailable) are reported on `/user/queue/errors`
 *   when the session subscribed to it. When it did not, they become fatal, once the SENDs accepted
 *   before them have been answered: the stream itself is sound, and no frame meets silence.
 * - Anything else is a bug: logged, and answered as a bare `internal error` (1011).
 */
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { header, type StompFrame } from '../../stomp/index.js';
import { USER_ERRORS_QUEUE } from '../destinations.js';
import type { Subscriber, SubscriptionRegistry } from '../subscription-registry.js';
import type { SessionState } from './session-types.js';

export class FatalStompError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
    readonly closeCode = 1002,
  ) {
    super(message);
  }
}

/** The headers of the frame a refusal answers; an in-flight SEND keeps only these. */
export interface FrameRef {
  receipt: string | undefined;
  destination: string | undefined;
}

export const frameRef = (frame: StompFrame): FrameRef => ({ receipt: header(frame, 'receipt'), destination: header(frame, 'destination') });

export const NO_FRAME: FrameRef = { receipt: undefined, destination: undefined };

/** WebSocket close frames carry at most 123 bytes of reason (RFC 6455 §5.5); `ws` throws beyond. */
const MAX_CLOSE_REASON_BYTES = 123;

export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  let reason = '';
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character);
    if (bytes + size > MAX_CLOSE_REASON_BYTES - 3) break;
    reason += character;
    bytes += size;
  }
  return `${reason}…`;
}

/** A FatalStompError as it is; anything else (a bug) logged and reduced to `internal error`. */
export function toFatal(error: unknown, log: Logger): FatalStompError {
  if (error instanceof FatalStompError) return error;
  log.error({ err: error }, 'stomp session failed');
  return new FatalStompError('internal error', undefined, 1011);
}

/** The body of a `/user/queue/errors` report. */
export function errorReport(error: AppError, ref: FrameRef): Buffer {
  return Buffer.from(
    JSON.stringify({
      code: error.code,
      message: error.message,
      destination: ref.destination ?? null,
      receiptId: ref.receipt ?? null,
      ...(error.details?.retryAfterSeconds !== undefined && { retryAfterSeconds: error.details.retryAfterSeconds }),
    }),
  );
}

/** Writes a report to the session's `/user/queue/errors`; false when it is not subscribed there. */
export function reportOnErrorQueue(
  registry: SubscriptionRegistry,
  session: Subscriber,
  body: Buffer,
  ref: FrameRef,
  onFrame?: (direction: 'out', command: string) => void,
): boolean {
  if (!registry.hasDestination(session, USER_ERRORS_QUEUE)) return false;
  registry.deliver(USER_ERRORS_QUEUE, body, { only: session, headers: ref.receipt ? { 'receipt-id': ref.receipt } : undefined });
  onFrame?.('out', 'MESSAGE');
  return true;
}

export interface ErrorPolicyContext {
  state(): SessionState;
  /** Writes a report to `/user/queue/errors`; false when the session is not subscribed to it. */
  reportToUser(body: Buffer, ref: FrameRef): boolean;
  /** Moves to 'closing', then ends with this ERROR once the SENDs in flight are answered (bounded). */
  closeAfterInFlight(error: FatalStompError, ref: FrameRef): void;
  onRejected?(reason: string): void;
  log: Logger;
}

/** Answers a per-session refusal; see the module comment. */
export function createRejection(ctx: ErrorPolicyContext) {
  return (error: unknown, ref: FrameRef, fallback = 'message could not be sent'): void => {
    let appError: AppError;
    if (error instanceof AppError) appError = error;
    else {
      ctx.log.error({ err: error }, 'request failed');
      appError = new AppError('UNAVAILABLE', fallback);
    }
    ctx.onRejected?.(appError.code.toLowerCase());
    const state = ctx.state();
    if (state === 'closing') {
      // An ERROR now would pre-empt the RECEIPT or ERROR the session is closing with; the missing
      // RECEIPT says enough.
      ctx.reportToUser(errorReport(appError, ref), ref);
      return;
    }
    if (state !== 'connected') return;
    if (ctx.reportToUser(errorReport(appError, ref), ref)) return;
    ctx.closeAfterInFlight(new FatalStompError(appError.message), ref);
  };
}

export type Reject = ReturnType<typeof createRejection>;
