/**
 * Signing up, logging in and out, and entering the chat with a stored login. A stored token is
 * proven with GET /api/users/me first, since a restarted server may have a new secret.
 */
import { getMe } from '../api.js';
import { hideRoomPane } from '../render/messages.js';
import { clearRooms } from '../render/room-list.js';
import { setAuthError, setConnectionState, showAuth, showChat } from '../render/shell.js';
import { forgetSession, loadSession, saveSession, tokenUsable } from '../session.js';
import { forgetLogin, state } from '../state.js';
import { openRoomFromHash } from './conversation.js';
import { startRealtime, stopRealtime } from './realtime.js';
import { refreshRooms } from './rooms.js';

const ROOMS_REFRESH_MS = 5_000;

/** The submit of the log-in or sign-up form: `request` is api.logIn or api.signUp, `fields` the inputs it sends. */
export async function submitAuth(event, request, fields) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type="submit"]');
  const body = Object.fromEntries(fields.map((field) => [field, form.elements[field].value]));
  button.disabled = true;
  setAuthError('');
  try {
    const result = await request(body);
    const session = { token: result.token, userId: result.userId, email: result.email, nickname: result.nickname };
    saveSession(session);
    form.reset();
    await enterChat(session);
  } catch (error) {
    setAuthError(error.message);
  } finally {
    button.disabled = false;
  }
}

export function signOut(message = '') {
  forgetSession();
  clearInterval(state.refreshTimer);
  state.refreshTimer = null;
  stopRealtime();
  forgetLogin();
  clearRooms();
  hideRoomPane();
  history.replaceState(null, '', location.pathname);
  showAuth(message);
}

async function enterChat(session) {
  state.session = session;
  showChat(session.nickname);
  setConnectionState('connecting');
  startRealtime({ onSessionEnded: signOut });
  await refreshRooms();
  if (state.session !== session) return;
  state.refreshTimer = setInterval(() => void refreshRooms(), ROOMS_REFRESH_MS);
  await openRoomFromHash();
}

/** At page load: the chat with the login this tab kept, or the log-in form. */
export async function resumeLogin() {
  const session = loadSession();
  if (!session || !tokenUsable(session.token)) {
    forgetSession();
    showAuth();
    return;
  }
  state.session = session;
  try {
    await getMe();
  } catch (error) {
    if (state.session) {
      state.session = null;
      showAuth(error.status === 0 ? error.message : '');
    }
    return;
  }
  await enterChat(session);
}
