/** The page's frame: the log-in view or the chat view, and the connection indicator. */
import { $ } from './dom.js';

const CONNECTION_TEXT = { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Connection lost, reconnecting…' };

export function showAuth(message = '') {
  $('chat-view').hidden = true;
  $('auth-view').hidden = false;
  $('auth-error').textContent = message;
}

export function showChat(nickname) {
  $('auth-view').hidden = true;
  $('chat-view').hidden = false;
  $('me-nickname').textContent = nickname;
}

export function setAuthError(message) {
  $('auth-error').textContent = message;
}

export function selectAuthTab(tab) {
  const login = tab === 'login';
  $('login-form').hidden = !login;
  $('signup-form').hidden = login;
  $('show-login').setAttribute('aria-selected', String(login));
  $('show-signup').setAttribute('aria-selected', String(!login));
  $('auth-error').textContent = '';
}

/** 'connecting' | 'connected' | 'reconnecting'; the tests wait on `data-state`. */
export function setConnectionState(connectionState) {
  const node = $('connection-status');
  node.dataset.state = connectionState;
  node.textContent = CONNECTION_TEXT[connectionState];
  $('my-presence').dataset.online = String(connectionState === 'connected');
}
