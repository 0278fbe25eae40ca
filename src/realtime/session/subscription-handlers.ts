/**
 * SUBSCRIBE and UNSUBSCRIBE (STOMP 1.2 "SUBSCRIBE", "UNSUBSCRIBE", "SUBSCRIBE ack Header").
 *
 * A SUBSCRIBE's RECEIPT promises that nothing published after it is missed, so it waits until
 * this instance really receives the destination's traffic (Redis confirmed its SUBSCRIBE). When
 * that cannot be confirmed in time, the subscription is undone and the client is told (per the
 * error policy) instead: a RECEIPT would be a lie, and a half-made subscription must not linger.
 */
import { AppError } from '../../errors.js';
import { header, type StompFrame } from '../../stomp/index.js';
import { parseSubscribeDestination } from '../destinations.js';
import { parseAckMode } from './ack-tracker.js';
import { FatalStompError, frameRef } from './error-policy.js';
import type { SessionContext } from './session-context.js';

export async function handleSubscribe(ctx: SessionContext, frame: StompFrame): Promise<void> {
  const id = header(frame, 'id');
  const destinationName = header(frame, 'destination');
  if (!id) throw new FatalStompError('SUBSCRIBE requires an id header');
  if (!destinationName) throw new FatalStompError('SUBSCRIBE requires a destination header');
  const destination = parseSubscribeDestination(destinationName);
  if (!destination) throw new FatalStompError('unknown destination', destinationName);
  const ack = parseAckMode(header(frame, 'ack'));
  if (!ack) throw new FatalStompError('unknown ack mode', 'ack must be auto, client or client-individual');
  if (ctx.registry.countFor(ctx.session) >= ctx.limits.maxSubscriptions) {
    ctx.services.onRejected?.('too-many-subscriptions');
    throw new FatalStompError('too many subscriptions', `at most ${ctx.limits.maxSubscriptions} per session`);
  }
  try {
    await ctx.services.authorizeSubscribe(ctx.user(), destination);
  } catch (error) {
    if (error instanceof AppError) {
      ctx.services.onRejected?.('subscribe-forbidden');
      throw new FatalStompError(error.message, destinationName, 1008);
    }
    throw error;
  }
  if (ctx.state() !== 'connected') return;
  if (!ctx.registry.add(ctx.session, id, destinationName, { acknowledged: ack !== 'auto' })) {
    throw new FatalStompError('duplicate subscription id', id);
  }
  if (ack !== 'auto') ctx.acks.open(id, ack);
  try {
    await ctx.services.subscribed?.(destination);
  } catch (error) {
    ctx.registry.remove(ctx.session, id);
    ctx.acks.close(id);
    ctx.reject(error, frameRef(frame), 'subscription could not be confirmed; subscribe again');
    return;
  }
  ctx.receipt(header(frame, 'receipt'));
}

export function handleUnsubscribe(ctx: SessionContext, frame: StompFrame): void {
  const id = header(frame, 'id');
  if (!id) throw new FatalStompError('UNSUBSCRIBE requires an id header');
  ctx.registry.remove(ctx.session, id);
  ctx.acks.close(id);
  ctx.receipt(header(frame, 'receipt'));
}
