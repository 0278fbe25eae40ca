/**
 * What each frame the server pushes does to the page: chat messages on `/topic/room.{id}`, room
 * events (READ) on `/topic/room.{id}.events`, presence on `/topic/presence`, refusals on `/user/queue/errors`.
 * A body that is not a JSON object is ignored (or shown as text, for an error).
 */
import { toast, pageVisible } from '../render/dom.js';
import { renderSeenBy } from '../render/messages.js';
import { renderPresence, renderRooms } from '../render/room-list.js';
import { applyPresenceEvent, liveMessage, recordReadBy, state } from '../state.js';
import { fillGap, receiveMessage } from './conversation.js';
import { refuseOutgoing, settleOutgoing } from './outbox.js';

/** The JSON object a frame carries, or undefined. */
function parseBody(frame) {
  try {
    const body = JSON.parse(frame.body);
    return body !== null && typeof body === 'object' ? body : undefined;
  } catch {
    return undefined;
  }
}

export function onRoomFrame(roomId, frame) {
  const body = parseBody(frame);
  if (body === undefined) return;
  const message = liveMessage(roomId, body);
  if (!message) return;
  settleOutgoing(message.messageKey);
  receiveMessage(message);
}

/** `/topic/room.{id}.events`: the `event` header names the type; types the page does not know are ignored. */
export function onRoomEvent(roomId, frame) {
  const body = parseBody(frame);
  if (body === undefined) return;
  if (frame.headers.event === 'READ') onReadEvent(roomId, body);
}

function onReadEvent(roomId, event) {
  const userId = Number(event.userId);
  if (userId === state.session?.userId) {
    // Read here or in another tab: the event carries the count the server now holds.
    const room = state.rooms.get(roomId);
    const unread = Number.isInteger(event.unreadCount) ? event.unreadCount : 0;
    if (room && room.unreadCount !== unread && !(state.view?.roomId === roomId && pageVisible())) {
      room.unreadCount = unread;
      renderRooms();
    }
    return;
  }
  const view = state.view;
  if (view?.roomId !== roomId) return;
  recordReadBy(view, userId, event);
  renderSeenBy(view);
  // Receipts name message ids, and messages seen only live have none yet: the history has them.
  if (view.messages.some((message) => message.id === null && message.status === 'sent')) {
    void fillGap(view).then(() => renderSeenBy(view));
  }
}

export function onPresence(frame) {
  const event = parseBody(frame);
  if (event === undefined) return;
  if (applyPresenceEvent(event)) renderPresence();
}

/** `{ message, receiptId? }`: a refused SEND names its receipt, `send:<messageKey>:<attempt>`. */
export function onUserError(frame) {
  const error = parseBody(frame) ?? { message: frame.body };
  const key = typeof error.receiptId === 'string' && error.receiptId.startsWith('send:') ? error.receiptId.split(':')[1] : undefined;
  if (key && refuseOutgoing(key, error.message)) return;
  toast(error.message ?? 'The server rejected a request');
}
