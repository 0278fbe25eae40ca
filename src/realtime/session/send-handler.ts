/**
 * SEND (STOMP 1.2 "SEND"). The message is handed on in arrival order; only its acknowledgement
 * runs concurrently (send-tracker.ts), so a client's messages keep their order while several are
 * in flight. A RECEIPT goes out only once the message is durable; a refusal goes through the
 * error policy. `/app/token.refresh` renews the session's token instead (token-renewal.ts).
 */
import { AppError } from '../../errors.js';
import { header, type StompFrame } from '../../stomp/index.js';
import { parseSendDestination } from '../destinations.js';
import { FatalStompError, frameRef } from './error-policy.js';
import { frameCost } from './inbound-flow.js';
import type { SessionContext } from './session-context.js';
import type { SendAccepted } from './session-types.js';
import { renewToken } from './token-renewal.js';

export async function handleSend(ctx: SessionContext, frame: StompFrame): Promise<void> {
  const destinationName = header(frame, 'destination');
  if (!destinationName) throw new FatalStompError('SEND requires a destination header');
  const destination = parseSendDestination(destinationName);
  if (!destination) throw new FatalStompError('unknown destination', destinationName);
  if (destination.kind === 'token-refresh') return renewToken(ctx, frame);
  const ref = frameRef(frame);
  let accepted: SendAccepted;
  try {
    // From here on a SEND is refused rather than produced: its RECEIPT could not reach the client
    // before the socket closes, so the client sends it again elsewhere instead.
    if (ctx.isDraining()) throw new AppError('UNAVAILABLE', 'server is shutting down; reconnect and send again');
    accepted = await ctx.services.send(ctx.session, destination, frame);
  } catch (error) {
    ctx.reject(error, ref);
    return;
  }
  const { receiptHeaders } = accepted;
  const answered = accepted.durable.then(
    () => ctx.receipt(ref.receipt, receiptHeaders),
    (error: unknown) => ctx.reject(error, ref),
  );
  ctx.sends.track(answered, frameCost(frame));
}
