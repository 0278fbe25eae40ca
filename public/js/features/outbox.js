/**
 * Sending. The client makes each messageKey (a UUID) itself and keeps the message in the outbox
 * until the server's RECEIPT says Kafka has it. What is still there after a reconnect is published
 * again with the same key; the server's messageKey idempotency makes the resend safe.
 */
import { queueOutgoing, ownMessage, state } from '../state.js';
import { receiveMessage, setMessageStatus } from './conversation.js';

const SEND_DESTINATION = '/app/chat.send';

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; plain http on a LAN address is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function sendMessage(roomId, content) {
  const message = ownMessage(roomId, uuid(), content);
  queueOutgoing(message.messageKey, roomId, content);
  receiveMessage(message);
  transmit(message.messageKey);
}

/** Publishes with the message's own key, so a resend after a lost RECEIPT cannot duplicate it. */
function transmit(key) {
  const item = state.outbox.get(key);
  const connection = state.connection;
  if (!item || !connection || !state.connected) return;
  item.attempt += 1;
  // The key in the receipt id lets a refusal on /user/queue/errors name the message (refuseOutgoing).
  const receipt = `send:${key}:${item.attempt}`;
  const onReceipt = () => {
    if (state.outbox.get(key) !== item) return;
    state.outbox.delete(key);
    setMessageStatus(key, 'sent');
  };
  connection.publish(SEND_DESTINATION, { roomId: item.roomId, content: item.content, messageKey: key }, { receipt, onReceipt });
}

/** After every CONNECTED, once the subscriptions are live. */
export function flushOutbox() {
  for (const key of state.outbox.keys()) transmit(key);
}

/** The connection dropped: nothing in the outbox can be acknowledged until the next one. */
export function markOutboxPending() {
  for (const key of state.outbox.keys()) setMessageStatus(key, 'pending');
}

/** The server's copy arrived live: nothing left to resend. */
export function settleOutgoing(key) {
  state.outbox.delete(key);
}

/** The server refused a SEND for good (e.g. the rate limit); false when the key is not ours. */
export function refuseOutgoing(key, reason) {
  if (!state.outbox.has(key)) return false;
  state.outbox.delete(key);
  setMessageStatus(key, 'failed', reason);
  return true;
}

/** The Retry button of a refused message. */
export function retryMessage(key) {
  const entry = state.view?.byKey.get(key);
  if (!entry) return;
  queueOutgoing(key, entry.roomId, entry.content);
  setMessageStatus(key, 'pending');
  transmit(key);
}
