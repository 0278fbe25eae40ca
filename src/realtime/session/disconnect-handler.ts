/**
 * DISCONNECT (STOMP 1.2 "DISCONNECT"): the client's earlier SENDs get their answers before the
 * DISCONNECT's own RECEIPT, then the socket closes normally.
 */
import { header, type StompFrame } from '../../stomp/index.js';
import type { SessionContext } from './session-context.js';

export async function handleDisconnect(ctx: SessionContext, frame: StompFrame): Promise<void> {
  ctx.beginClosing();
  await ctx.settleInFlight();
  const receipt = header(frame, 'receipt');
  if (receipt) ctx.writeFrame('RECEIPT', { 'receipt-id': receipt });
  ctx.finish(1000, 'disconnect');
}
