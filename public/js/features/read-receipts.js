/**
 * Marking the open room read: when it opens with unread messages, and when a message from someone
 * else arrives while it is open and the tab is visible. Debounced, and sent only when the newest
 * message changed.
 */
import { markRoomRead } from '../api.js';
import { pageVisible } from '../render/dom.js';
import { newestSent, state } from '../state.js';

const READ_DEBOUNCE_MS = 300;

export function scheduleMarkRead(view) {
  clearTimeout(view.readTimer);
  view.readTimer = setTimeout(() => void markRead(view), READ_DEBOUNCE_MS);
}

async function markRead(view) {
  if (state.view !== view || !pageVisible() || !state.readReceiptsAvailable) return;
  const newest = newestSent(view);
  if (!newest) return;
  // A message seen only live has no id yet; the server accepts its key instead.
  const marker = newest.id !== null ? { lastReadMessageId: newest.id } : { lastReadMessageKey: newest.messageKey };
  if (view.lastMarked === newest.messageKey) return;
  view.lastMarked = newest.messageKey;
  try {
    await markRoomRead(view.roomId, marker);
  } catch (error) {
    view.lastMarked = null;
    // A server without read receipts (404) is not an error worth showing on every message.
    if (error.status === 404 && /No route/.test(error.message)) state.readReceiptsAvailable = false;
  }
}
