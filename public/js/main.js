/**
 * The browser client's entry point: plain JavaScript modules over the REST API and STOMP at /ws,
 * no build step. This file is the table of contents: it connects the modules that must not import
 * each other, says what every control of index.html does, and starts.
 *
 * docs/browser-client.md has the module map and how to add a feature.
 */
import { configureApi, logIn, signUp } from './api.js';
import { $, pageVisible } from './render/dom.js';
import { clickedMessageAction, nearTop } from './render/messages.js';
import { clickedRoomId } from './render/room-list.js';
import { selectAuthTab } from './render/shell.js';
import { state } from './state.js';
import { resumeLogin, signOut, submitAuth } from './features/auth.js';
import { fillGap, loadOlder, openRoom, openRoomFromHash } from './features/conversation.js';
import { onRoomEvent, onRoomFrame } from './features/inbound-frames.js';
import { retryMessage, sendMessage } from './features/outbox.js';
import { closeGroupDialog, createGroup, openGroupDialog, searchGroupMembers, searchPeople } from './features/people.js';
import { scheduleMarkRead } from './features/read-receipts.js';
import { configureRoomSubscriptions } from './features/room-subscriptions.js';
import { refreshRooms } from './features/rooms.js';

/** What each `data-action` button on a message does. */
const MESSAGE_ACTIONS = {
  retry: retryMessage,
};

configureApi({
  currentSession: () => state.session,
  onUnauthorized: () => signOut('Your session has ended. Please log in again.'),
});

configureRoomSubscriptions({
  onFrame: onRoomFrame,
  onEvent: onRoomEvent,
  onOpenRoomLive: (view) => void fillGap(view),
});

function wireAuth() {
  $('show-login').addEventListener('click', () => selectAuthTab('login'));
  $('show-signup').addEventListener('click', () => selectAuthTab('signup'));
  $('login-form').addEventListener('submit', (event) => void submitAuth(event, logIn, ['email', 'password']));
  $('signup-form').addEventListener('submit', (event) => void submitAuth(event, signUp, ['email', 'nickname', 'password']));
  $('logout').addEventListener('click', () => signOut());
}

function wirePeople() {
  $('user-search').addEventListener('input', (event) => searchPeople(event.target.value.trim()));
  $('new-group').addEventListener('click', openGroupDialog);
  $('group-search').addEventListener('input', (event) => searchGroupMembers(event.target.value.trim()));
  $('group-cancel').addEventListener('click', closeGroupDialog);
  $('group-form').addEventListener('submit', (event) => void createGroup(event));
}

function wireRooms() {
  $('room-list').addEventListener('click', (event) => {
    const roomId = clickedRoomId(event);
    if (roomId !== undefined) void openRoom(roomId);
  });
  window.addEventListener('hashchange', () => void openRoomFromHash());
  document.addEventListener('visibilitychange', () => {
    if (!pageVisible() || !state.session) return;
    void refreshRooms();
    if (state.view) scheduleMarkRead(state.view);
  });
}

function wireConversation() {
  const input = $('message-input');
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content || !state.view) return;
    sendMessage(state.view.roomId, content);
    input.value = '';
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('message-scroller').addEventListener('scroll', () => {
    if (state.view && nearTop()) void loadOlder(state.view);
  });
  $('message-list').addEventListener('click', (event) => {
    const clicked = clickedMessageAction(event);
    if (clicked) MESSAGE_ACTIONS[clicked.action]?.(clicked.messageKey);
  });
}

wireAuth();
wirePeople();
wireRooms();
wireConversation();
void resumeLogin();
