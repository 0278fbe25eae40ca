import { randomUUID } from 'node:crypto';
import type { TestStompClient } from './stomp.js';

export interface OutgoingMessage {
  messageKey: string;
  content: string;
}

/** `count` messages with fresh keys and contents that sort in send order: `seq-0000`, `seq-0001`… */
export function numberedMessages(count: number): OutgoingMessage[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, index) => ({ messageKey: randomUUID(), content: `seq-${String(index).padStart(width, '0')}` }));
}

export interface StreamOptions {
  roomId: number;
  /** Sent in this order; a resend reuses a messageKey, as a client with an outbox does. */
  messages: OutgoingMessage[];
  /** SENDs awaiting their RECEIPT at once; default 50. */
  window?: number;
  /** Called on each RECEIPT, in arrival order. */
  onReceipt?: (messageKey: string) => void;
  /** Bounds the whole stream. */
  timeoutMs?: number;
}

export interface StreamResult {
  /** messageKey of every SEND, in send order. */
  sent: string[];
  /** messageKeys that got a RECEIPT, in arrival order. */
  receipted: string[];
  /** messageKeys refused (ERROR or /user/queue/errors). */
  refused: string[];
  /** Sent, but the connection closed before any answer. */
  unanswered: string[];
}

/**
 * A client that pipelines chat SENDs the way a busy real one does: each SEND asks for a RECEIPT,
 * and up to `window` of them are in flight at once (a client that waited for each RECEIPT
 * before the next SEND would hide every ordering problem). The messageKeys are the client's own,
 * so a test knows exactly which messages the server acknowledged.
 *
 * The stream ends when every SEND is answered, or when the connection closes (a killed server):
 * SENDs still unanswered then are reported as such, neither acknowledged nor refused.
 */
export async function streamSends(stomp: TestStompClient, options: StreamOptions): Promise<StreamResult> {
  const window = options.window ?? 50;
  const sent: string[] = [];
  const receipted: string[] = [];
  const refused: string[] = [];
  const pending = new Map<string, string>();
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const waiter = wake;
    wake = undefined;
    waiter?.();
  };

  const { client } = stomp;
  const previousClose = client.onWebSocketClose;
  client.onWebSocketClose = (event) => {
    previousClose(event);
    closed = true;
    notify();
  };
  const previousError = client.onStompError;
  client.onStompError = (frame) => {
    previousError(frame);
    const receiptId = frame.headers['receipt-id'];
    const key = receiptId ? pending.get(receiptId) : undefined;
    if (receiptId && key) {
      pending.delete(receiptId);
      refused.push(key);
    }
    notify();
  };
  let userErrorsSeen = stomp.received('/user/queue/errors').length;
  const collectRefusals = () => {
    const userErrors = stomp.received('/user/queue/errors');
    const fresh = userErrors.slice(userErrorsSeen);
    userErrorsSeen = userErrors.length;
    for (const message of fresh) {
      const receiptId = message.headers['receipt-id'];
      const key = receiptId ? pending.get(receiptId) : undefined;
      if (receiptId && key) {
        pending.delete(receiptId);
        refused.push(key);
      }
    }
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const waitForRoom = async (limit: number) => {
    while (!closed && pending.size > limit) {
      if (Date.now() > deadline) throw new Error(`stream timed out with ${pending.size} SENDs unanswered`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        // Refusals arrive as MESSAGE frames the helper does not see one by one; look now and then.
        setTimeout(resolve, 20);
      });
      collectRefusals();
    }
  };

  try {
    for (const { messageKey, content } of options.messages) {
      await waitForRoom(window - 1);
      if (closed) break;
      const receiptId = `stream-${messageKey}-${randomUUID().slice(0, 8)}`;
      pending.set(receiptId, messageKey);
      client.watchForReceipt(receiptId, () => {
        if (!pending.delete(receiptId)) return;
        receipted.push(messageKey);
        options.onReceipt?.(messageKey);
        notify();
      });
      try {
        client.publish({
          destination: '/app/chat.send',
          body: JSON.stringify({ roomId: options.roomId, content, messageKey }),
          headers: { receipt: receiptId },
        });
      } catch {
        // The connection went away between the last answer and this SEND: it was never sent.
        pending.delete(receiptId);
        closed = true;
        break;
      }
      sent.push(messageKey);
    }
    await waitForRoom(0);
  } finally {
    client.onWebSocketClose = previousClose;
    client.onStompError = previousError;
  }
  return { sent, receipted, refused, unanswered: [...pending.values()] };
}
