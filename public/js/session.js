/**
 * The login, kept in sessionStorage: one per tab, gone when the tab closes, never in a cookie (so
 * there is no CSRF surface). The token is read again before every STOMP (re)connect, so a newer
 * login in this tab always wins.
 */
const SESSION_KEY = 'chat.session';
// A token this close to its expiry would be refused before the CONNECT got through.
const EXPIRY_MARGIN_MS = 5_000;

/** `{ token, userId, email, nickname }`, or null when there is none or it is unreadable. */
export function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    return session && typeof session.token === 'string' ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function forgetSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Expiry of a JWT in ms, read without verifying (the server verifies); 0 when unreadable. */
function tokenExpiry(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(payload));
    return typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return 0;
  }
}

export const tokenUsable = (token) => tokenExpiry(token) > Date.now() + EXPIRY_MARGIN_MS;
