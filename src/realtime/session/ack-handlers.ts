/**
 * ACK and NACK (STOMP 1.2 "ACK", "NACK"; 1.0 and 1.1 name the message by `message-id`). What they
 * settle, and when an id is unknown, is ack-tracker.ts's business; an unknown id is an ERROR.
 */
import { header, preview, type StompFrame } from '../../stomp/index.js';
import { FatalStompError } from './error-policy.js';
import type { SessionContext } from './session-context.js';

export function handleAck(ctx: SessionContext, frame: StompFrame): void {
  const id = header(frame, 'id') ?? header(frame, 'message-id');
  if (!id) throw new FatalStompError(`${frame.command} requires an id header`);
  const settled = ctx.acks.settle(id, header(frame, 'subscription'));
  if (settled.outcome === 'unknown') {
    ctx.services.onRejected?.('unknown-ack-id');
    throw new FatalStompError('unknown ack id', `${frame.command} ${preview(id)} names no message sent on this connection`);
  }
  if (settled.outcome === 'settled' && frame.command === 'NACK') {
    ctx.log.debug({ messages: settled.count }, 'NACK: messages discarded');
  }
  ctx.receipt(header(frame, 'receipt'));
}
