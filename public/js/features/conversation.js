/**
 * The open room: opening it, its history (newest page, older pages on scroll, the gap fill after a
 * reconnect) and the one entry point every message goes through, live or read or our own, so
 * counting unread and marking read agree.
 */
import { getRoom, messagesAfter, messagesBefore, newestMessages } from '../api.js';
import { pageVisible, toast, toastIfUnreachable } from '../render/dom.js';
import {
  focusComposer,
  growAbove,
  nearBottom,
  nothingToScroll,
  placeMessageNode,
  renderHistoryStatus,
  renderMessage,
  renderSeenBy,
  scrollToBottom,
  setHistoryStatus,
  setRoomTitle,
  showRoomPane,
} from '../render/messages.js';
import { renderMembers, renderRooms } from '../render/room-list.js';
import {
  historyMessage,
  isMine,
  keepLiveMessage,
  newView,
  ownMessage,
  placeInOrder,
  rememberKey,
  roomLabel,
  state,
  takeLiveMessages,
} from '../state.js';
import { scheduleMarkRead } from './read-receipts.js';
import { syncRoomSubscriptions } from './room-subscriptions.js';
import { refreshOnline, touchRoom } from './rooms.js';

const PAGE_SIZE = 30;
const GAP_PAGE_SIZE = 100;

function roomFromHash() {
  const match = /^#room=(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : undefined;
}

/** The room in the address (`#room=42`), so a reload reopens it. */
export async function openRoomFromHash() {
  const roomId = roomFromHash();
  if (roomId && state.rooms.has(roomId)) await openRoom(roomId);
}

export async function openRoom(roomId) {
  if (state.view?.roomId === roomId) return;
  const view = newView(roomId);
  state.view = view;
  history.replaceState(null, '', `#room=${roomId}`);
  const summary = state.rooms.get(roomId);
  showRoomPane(summary ? roomLabel(summary) : '');
  const hadUnread = (summary?.unreadCount ?? 0) > 0;
  if (summary) summary.unreadCount = 0;
  syncRoomSubscriptions();
  renderRooms();
  // Messages from the outbox, and those that arrived live while the room was closed, belong on
  // screen even before the history arrives, and even if it does not have them yet.
  for (const item of state.outbox.values()) {
    if (item.roomId === roomId) mergeMessage(view, ownMessage(roomId, item.messageKey, item.content));
  }
  for (const message of takeLiveMessages(roomId)) mergeMessage(view, message);

  const [room] = await Promise.all([
    getRoom(roomId).catch((error) => {
      toast(error.message);
      return null;
    }),
    loadNewest(view),
    refreshOnline([roomId]),
  ]);
  if (state.view !== view) return;
  view.room = room;
  if (room) setRoomTitle(roomLabel(room));
  renderMembers();
  scrollToBottom();
  await fillViewport(view);
  if (hadUnread || view.messages.some((message) => !isMine(message))) scheduleMarkRead(view);
  focusComposer();
}

async function loadNewest(view) {
  try {
    const page = await newestMessages(view.roomId, PAGE_SIZE);
    if (state.view !== view) return;
    for (const message of page.messages) mergeMessage(view, historyMessage(message));
    view.cursor = page.nextCursor;
    view.hasMore = page.hasMore;
    view.historyLoaded = true;
    renderHistoryStatus(view);
  } catch (error) {
    if (state.view === view) setHistoryStatus(`Could not load history: ${error.message}`);
  }
}

/** One page request at a time; callers share the one in flight. */
export function loadOlder(view) {
  if (!view.hasMore || view.cursor === null) return Promise.resolve(false);
  view.loadingOlder ??= fetchOlder(view).finally(() => {
    view.loadingOlder = null;
    if (state.view === view) renderHistoryStatus(view);
  });
  return view.loadingOlder;
}

async function fetchOlder(view) {
  setHistoryStatus('Loading older messages…');
  try {
    const page = await messagesBefore(view.roomId, view.cursor, PAGE_SIZE);
    if (state.view !== view) return false;
    growAbove(() => {
      for (const message of page.messages) mergeMessage(view, historyMessage(message));
    });
    view.cursor = page.nextCursor;
    view.hasMore = page.hasMore;
    return true;
  } catch (error) {
    toast(`Could not load older messages: ${error.message}`);
    return false;
  }
}

/** Short histories leave nothing to scroll, so nothing would ever ask for the older pages. */
async function fillViewport(view) {
  while (state.view === view && view.hasMore && nothingToScroll()) {
    if (!(await loadOlder(view))) return;
  }
}

/**
 * Reads what arrived while the socket was down: everything newer than the newest id on screen,
 * page after page.
 */
export async function fillGap(view) {
  if (!view.historyLoaded || view.newestId === null) {
    await loadNewest(view);
    return;
  }
  let after = view.newestId;
  let addedFromOthers = false;
  try {
    for (;;) {
      const page = await messagesAfter(view.roomId, after, GAP_PAGE_SIZE);
      if (state.view !== view) return;
      for (const message of page.messages) {
        const known = view.byKey.has(message.messageKey);
        receiveMessage(historyMessage(message));
        if (!known && !isMine(message)) addedFromOthers = true;
      }
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) break;
      after = last.id;
    }
  } catch (error) {
    toastIfUnreachable(error);
    return;
  }
  if (addedFromOthers && pageVisible()) scheduleMarkRead(view);
}

/** One entry point for live, gap-filled and own messages, so counting and marking read agree. */
export function receiveMessage(message) {
  const firstTime = rememberKey(message.messageKey);
  const fromOther = !isMine(message);
  const view = state.view;
  const open = view?.roomId === message.roomId;
  if (open) {
    const stick = nearBottom();
    mergeMessage(view, message);
    if (stick || !fromOther) scrollToBottom();
    if (fromOther && firstTime && pageVisible()) scheduleMarkRead(view);
  } else {
    keepLiveMessage(message);
  }
  if (firstTime) touchRoom(message.roomId, message, fromOther && !(open && pageVisible()));
}

/** Adds a message in order, or completes the entry already there (same key). */
function mergeMessage(view, message) {
  if (message.id !== null && (view.newestId === null || message.id > view.newestId)) view.newestId = message.id;
  const existing = view.byKey.get(message.messageKey);
  if (existing) {
    const learnedId = message.id !== null && existing.id === null;
    // The server's copy of our own message: its timestamp, not the browser's, orders it.
    const serverCopy = existing.local && !message.local;
    if (learnedId) existing.id = message.id;
    if (serverCopy) {
      existing.local = false;
      existing.status = 'sent';
      existing.createdAt = message.createdAt;
      renderMessage(existing);
    }
    // A message typed offline goes out after what others sent meanwhile: show it where the room has it.
    if (learnedId || serverCopy) place(view, existing);
    return;
  }
  const entry = { ...message, node: null };
  view.byKey.set(entry.messageKey, entry);
  renderMessage(entry);
  place(view, entry);
  if (view.historyLoaded) renderHistoryStatus(view);
}

function place(view, entry) {
  const moved = placeInOrder(view, entry);
  if (!moved) return;
  placeMessageNode(entry, moved.next);
  renderSeenBy(view);
}

/** The open room's copy of one of our messages: 'pending', 'sent' or 'failed' (with the server's reason). */
export function setMessageStatus(key, status, error) {
  const entry = state.view?.byKey.get(key);
  if (!entry || entry.status === status) return;
  if (entry.status === 'sent' && status === 'pending') return;
  entry.status = status;
  entry.error = error;
  renderMessage(entry);
}
