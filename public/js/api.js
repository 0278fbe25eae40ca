/**
 * The REST API: one function per endpoint the page uses, so every URL lives here. A failed call
 * throws ApiError with the HTTP status (0 when the server cannot be reached) and the server's
 * message. A 401 for the current login ends it through the `onUnauthorized` hook.
 */

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const hooks = {
  /** The login whose token authenticates requests, or null. */
  currentSession: () => null,
  onUnauthorized: () => {},
};

/** Set once at start-up by main.js: this module knows nothing of the page's state. */
export function configureApi({ currentSession, onUnauthorized }) {
  hooks.currentSession = currentSession;
  hooks.onUnauthorized = onUnauthorized;
}

async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const session = hooks.currentSession();
  if (session) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The server cannot be reached.');
  }
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  // Only a 401 for the login still in use ends it: an answer for an older one changes nothing.
  if (response.status === 401 && session && hooks.currentSession() === session) hooks.onUnauthorized();
  if (!response.ok) {
    const message = data && typeof data.message === 'string' ? data.message : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

// ---- auth and users ------------------------------------------------------------------------

/** `{ email, nickname, password }` → `{ token, userId, email, nickname }`. */
export const signUp = (fields) => request('POST', '/api/auth/signup', fields);

/** `{ email, password }` → `{ token, userId, email, nickname }`. */
export const logIn = (fields) => request('POST', '/api/auth/login', fields);

export const getMe = () => request('GET', '/api/users/me');

export async function searchUsers(query) {
  const data = await request('GET', `/api/users?query=${encodeURIComponent(query)}&size=10`);
  return data.users;
}

// ---- rooms ---------------------------------------------------------------------------------

/** `{ rooms }`, newest activity first, each with its last message and unread count. */
export const listRooms = () => request('GET', '/api/rooms');

export const getRoom = (roomId) => request('GET', `/api/rooms/${roomId}`);

export const createDirectRoom = (targetUserId) => request('POST', '/api/rooms/direct', { targetUserId });

export const createGroupRoom = (name, memberIds) => request('POST', '/api/rooms/group', { name, memberIds });

/** The ids of the room's members who are online now. */
export async function onlineMembers(roomId) {
  const data = await request('GET', `/api/rooms/${roomId}/members/online`);
  return Array.isArray(data) ? data : (data?.userIds ?? data?.online ?? []);
}

// ---- messages and read receipts --------------------------------------------------------------

/** The newest page: `{ messages, hasMore, nextCursor }`, oldest first. */
export const newestMessages = (roomId, size) => request('GET', `/api/rooms/${roomId}/messages?size=${size}`);

export const messagesBefore = (roomId, cursor, size) => request('GET', `/api/rooms/${roomId}/messages?size=${size}&cursor=${cursor}`);

export const messagesAfter = (roomId, afterId, size) => request('GET', `/api/rooms/${roomId}/messages?after=${afterId}&size=${size}`);

/** `{ lastReadMessageId }`, or `{ lastReadMessageKey }` for a message seen only live. */
export const markRoomRead = (roomId, marker) => request('POST', `/api/rooms/${roomId}/read`, marker);
