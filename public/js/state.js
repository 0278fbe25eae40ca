/**
 * What the page knows, in one object, and the operations on it that need neither the DOM nor the
 * network: the room list with its unread counts, who is online, the open room's messages in the
 * room's order, the outbox. Features change the page by changing this, then asking render/ to
 * show it.
 *
 * A message is identified by its messageKey everywhere: live MESSAGE frames, history pages, the
 * gap fill after a reconnect and the client's own resends all collapse onto one entry.
 */
const SEEN_KEYS_LIMIT = 5_000;
const LIVE_KEPT_PER_ROOM = 50;

export const state = {
  /** `{ token, userId, email, nickname }` of the login in use, or null. */
  session: null,
  /** roomId → summary from GET /api/rooms, newest activity first, kept current by live messages. */
  rooms: new Map(),
  /** Ids of the users known to be online. */
  online: new Set(),
  /** The open room (newView), or null. */
  view: null,
  /** The STOMP connection of this login (stomp-connection.js) and whether it is up now. */
  connection: null,
  connected: false,
  /** Increments on every CONNECTED, so work started for an old connection can tell it is stale. */
  generation: 0,
  /** messageKey → unsent or unacknowledged message; resent with the same key after a reconnect. */
  outbox: new Map(),
  /** Keys already counted, so a redelivered message does not raise a badge twice. */
  seenKeys: new Set(),
  /** roomId → (messageKey → message) that arrived live while the room was not open (takeLiveMessages). */
  liveWhileClosed: new Map(),
  refreshTimer: null,
  readReceiptsAvailable: true,
};

/** Forgets what belonged to the login that just ended. */
export function forgetLogin() {
  state.session = null;
  state.rooms.clear();
  state.outbox.clear();
  state.online.clear();
  state.liveWhileClosed.clear();
  state.view = null;
}

export const isMine = (message) => message.senderId === state.session?.userId;

/** False when the key was seen before. */
export function rememberKey(key) {
  if (state.seenKeys.has(key)) return false;
  state.seenKeys.add(key);
  if (state.seenKeys.size > SEEN_KEYS_LIMIT) state.seenKeys.delete(state.seenKeys.values().next().value);
  return true;
}

// ---- rooms and unread counts -------------------------------------------------------------

export function roomLabel(room) {
  return room.name ?? room.members?.map((member) => member.nickname).join(', ') ?? `Room ${room.roomId}`;
}

/** The other member of a DIRECT room: the one whose online dot the room list shows. */
export function directPeer(room) {
  if (room.type !== 'DIRECT') return undefined;
  return room.members?.find((member) => member.userId !== state.session?.userId);
}

function isNewerThan(local, server) {
  if (!server) return true;
  return Date.parse(local.createdAt) > Date.parse(server.createdAt);
}

/**
 * Takes the room list the server just read. `seenRoomId` is the room the reader is looking at:
 * its count stays 0. Returns the ids new to the page, and whether the server still counted unread
 * messages in the seen room.
 */
export function applyRoomList(rooms, seenRoomId) {
  const next = new Map();
  const fresh = [];
  let seenHadUnread = false;
  for (const room of rooms) {
    const known = state.rooms.get(room.roomId);
    if (!known) fresh.push(room.roomId);
    // A live message can be ahead of the list the server just read: keep what the page already knows.
    if (known?.lastMessage && isNewerThan(known.lastMessage, room.lastMessage)) {
      next.set(room.roomId, { ...room, lastMessage: known.lastMessage, unreadCount: Math.max(room.unreadCount, known.unreadCount) });
    } else {
      next.set(room.roomId, room);
    }
    if (room.roomId === seenRoomId) {
      if (room.unreadCount > 0) seenHadUnread = true;
      next.get(room.roomId).unreadCount = 0;
    }
  }
  state.rooms = next;
  return { fresh, seenHadUnread };
}

/**
 * Records a room's newest message and moves the room to the top, as GET /api/rooms would order
 * it. False when the room is not in the list yet.
 */
export function recordLastMessage(roomId, message, countsAsUnread) {
  const room = state.rooms.get(roomId);
  if (!room) return false;
  room.lastMessage = {
    id: message.id ?? null,
    content: message.content,
    senderId: message.senderId,
    senderNickname: message.senderNickname,
    createdAt: new Date(message.createdAt).toISOString(),
  };
  if (countsAsUnread) room.unreadCount += 1;
  state.rooms.delete(roomId);
  state.rooms = new Map([[roomId, room], ...state.rooms]);
  return true;
}

// ---- presence ------------------------------------------------------------------------------

/** The server's online list for a room is the whole truth for the members we know: anyone not in it is offline. */
export function applyOnlineList(roomId, onlineIds) {
  const members = state.rooms.get(roomId)?.members ?? (state.view?.roomId === roomId ? state.view.room?.members : undefined);
  for (const member of members ?? []) state.online.delete(member.userId);
  for (const id of onlineIds) state.online.add(Number(id));
}

/** A `/topic/presence` event: `{ userId, status: 'ONLINE' | 'OFFLINE' }`. */
export function applyPresenceEvent(event) {
  const userId = Number(event.userId);
  if (!Number.isFinite(userId)) return false;
  if (event.status === 'ONLINE') state.online.add(userId);
  else if (event.status === 'OFFLINE') state.online.delete(userId);
  return true;
}

// ---- messages --------------------------------------------------------------------------------

/** The open room: its messages in the room's order, history paging, and who read what. */
export function newView(roomId) {
  return {
    roomId,
    room: null,
    messages: [],
    byKey: new Map(),
    newestId: null,
    cursor: null,
    hasMore: false,
    historyLoaded: false,
    loadingOlder: null,
    readTimer: null,
    lastMarked: null,
    /** userId → `{ id, key }` of the newest message they read. */
    readBy: new Map(),
  };
}

/** A message of a history page (GET …/messages). */
export function historyMessage(message) {
  return {
    messageKey: message.messageKey,
    id: message.id,
    roomId: message.roomId,
    senderId: message.senderId,
    senderNickname: message.senderNickname,
    content: message.content,
    type: message.type,
    createdAt: Date.parse(message.createdAt),
    status: 'sent',
  };
}

/** A chat MESSAGE frame's body on `/topic/room.{roomId}`; null when it is not a chat message. */
export function liveMessage(roomId, body) {
  if (typeof body.messageKey !== 'string') return null;
  return {
    messageKey: body.messageKey,
    id: typeof body.id === 'number' ? body.id : null,
    roomId,
    senderId: body.senderId,
    senderNickname: body.senderNickname,
    content: String(body.content ?? ''),
    type: body.type ?? 'TEXT',
    createdAt: Date.parse(body.timestamp) || Date.now(),
    status: 'sent',
  };
}

/**
 * Keeps a message that arrived live for a room that is not open. Broadcast and storage are separate
 * consumer groups, so the history read when the room opens can miss a message the badge already
 * counted; the room shows these with it.
 */
export function keepLiveMessage(message) {
  let kept = state.liveWhileClosed.get(message.roomId);
  if (!kept) state.liveWhileClosed.set(message.roomId, (kept = new Map()));
  kept.set(message.messageKey, message);
  if (kept.size > LIVE_KEPT_PER_ROOM) kept.delete(kept.keys().next().value);
}

/** The messages kept for a room (keepLiveMessage), oldest first; they are forgotten here. */
export function takeLiveMessages(roomId) {
  const kept = state.liveWhileClosed.get(roomId);
  state.liveWhileClosed.delete(roomId);
  return kept ? [...kept.values()] : [];
}

/** A message of ours the server has not confirmed yet. */
export function ownMessage(roomId, messageKey, content) {
  return {
    messageKey,
    id: null,
    roomId,
    senderId: state.session.userId,
    senderNickname: state.session.nickname,
    content,
    type: 'TEXT',
    createdAt: Date.now(),
    status: 'pending',
    local: true,
  };
}

export function queueOutgoing(messageKey, roomId, content) {
  state.outbox.set(messageKey, { roomId, content, messageKey, attempt: 0 });
}

/** Ids are the order in the room (Kafka order); a message only seen live has its timestamp. */
function comesBefore(a, b) {
  if (a.id !== null && b.id !== null) return a.id < b.id;
  return a.createdAt < b.createdAt;
}

/**
 * Puts an entry (new, or whose order just became known) at its place in `view.messages`.
 * Returns `{ next }`, the entry now after it (null at the end), or null when it did not move.
 */
export function placeInOrder(view, entry) {
  const list = view.messages;
  const current = list.indexOf(entry);
  if (current !== -1) list.splice(current, 1);
  let index = list.length;
  if (list.length && comesBefore(entry, list[0])) index = 0;
  else while (index > 0 && comesBefore(entry, list[index - 1])) index -= 1;
  list.splice(index, 0, entry);
  if (index === current) return null;
  return { next: list[index + 1] ?? null };
}

/** The newest message the server has confirmed: what "read up to" and "Seen by" refer to. */
export const newestSent = (view) => view.messages.findLast((message) => message.status === 'sent');

// ---- read receipts -----------------------------------------------------------------------------

/** A READ event from another member of the open room. */
export function recordReadBy(view, userId, event) {
  view.readBy.set(userId, {
    id: typeof event.lastReadMessageId === 'number' ? event.lastReadMessageId : null,
    key: typeof event.lastReadMessageKey === 'string' ? event.lastReadMessageKey : null,
  });
}

/** Who has read our newest message; null when the newest message is not ours (nothing to show). */
export function seenBy(view) {
  const newest = newestSent(view);
  if (!newest || newest.senderId !== state.session?.userId || !view.room) return null;
  const names = [];
  for (const [userId, read] of view.readBy) {
    const covers = read.key === newest.messageKey || (read.id !== null && newest.id !== null && read.id >= newest.id);
    const member = view.room.members.find((candidate) => candidate.userId === userId);
    if (covers && member) names.push(member.nickname);
  }
  return names;
}
