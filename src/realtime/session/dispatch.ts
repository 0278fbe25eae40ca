/**
 * Which handler a client frame goes to (STOMP 1.2 "Client Frames"). Before CONNECTED only
 * CONNECT/STOMP is handled (CVE-2023-32081 was a server that did otherwise); transactions are
 * not served; after its token expired a session handles nothing more.
 */
import type { StompFrame } from '../../stomp/index.js';
import { handleAck } from './ack-handlers.js';
import { handleConnect } from './connect-handler.js';
import { handleDisconnect } from './disconnect-handler.js';
import { FatalStompError } from './error-policy.js';
import { handleSend } from './send-handler.js';
import type { SessionContext } from './session-context.js';
import { handleSubscribe, handleUnsubscribe } from './subscription-handlers.js';

type Handler = (ctx: SessionContext, frame: StompFrame) => Promise<void> | void;

const HANDLERS: Readonly<Record<string, Handler>> = {
  SUBSCRIBE: handleSubscribe,
  UNSUBSCRIBE: handleUnsubscribe,
  SEND: handleSend,
  ACK: handleAck,
  NACK: handleAck,
  DISCONNECT: handleDisconnect,
};

const TRANSACTIONS = new Set(['BEGIN', 'COMMIT', 'ABORT']);

/** Handles one frame of a session that is not closing. */
export async function dispatch(
  ctx: SessionContext,
  frame: StompFrame,
  session: { tokenExpired(): boolean; end(kind: 'token-expired'): void },
): Promise<void> {
  const { command } = frame;
  if (ctx.state() === 'awaiting-connect') {
    if (command !== 'CONNECT' && command !== 'STOMP') throw new FatalStompError('not connected', `${command} before CONNECT`);
    return handleConnect(ctx, frame);
  }
  if (command === 'CONNECT' || command === 'STOMP') throw new FatalStompError('already connected');
  if (TRANSACTIONS.has(command)) throw new FatalStompError('transactions are not supported', `${command} is not supported by this server`);
  const handler = HANDLERS[command];
  if (!handler) throw new FatalStompError('unknown command', command);
  // Not one frame outlives the token; the heartbeat monitor's next tick may not have come yet.
  if (session.tokenExpired()) {
    session.end('token-expired');
    return;
  }
  return handler(ctx, frame);
}
