/**
 * The open room's pane: its header, the messages in the room's order, "Seen by", the history
 * status line and scrolling. Buttons on a message carry `data-action`; main.js maps the action to
 * a feature, so this module never calls one.
 */
import { $, el, formatTime } from './dom.js';
import { isMine, seenBy } from '../state.js';

// Within this distance of an edge the reader counts as being at it.
const NEAR_EDGE_PX = 80;

function statusText(entry) {
  if (entry.status === 'pending') return 'sending…';
  if (entry.status === 'failed') return entry.error ? `not sent: ${entry.error}` : 'not sent';
  return '';
}

/** Builds the entry's element, replacing the one it had. */
export function renderMessage(entry) {
  const mine = isMine(entry);
  const status = statusText(entry);
  const children = [
    el('div', { className: 'message-meta' }, [
      el('span', { className: 'message-sender', text: mine ? 'You' : entry.senderNickname, data: { testid: 'message-sender' } }),
      el('time', { text: formatTime(entry.createdAt), attrs: { datetime: new Date(entry.createdAt).toISOString() } }),
    ]),
    el('div', { className: 'message-text', text: entry.content, data: { testid: 'message-text' } }),
  ];
  if (status) children.push(el('div', { className: 'message-status', text: status, data: { testid: 'message-status' } }));
  if (entry.status === 'failed') {
    const data = { testid: 'retry', action: 'retry' };
    children.push(el('button', { className: 'link', text: 'Retry', attrs: { type: 'button' }, data }));
  }
  const node = el(
    'li',
    { className: mine ? 'message mine' : 'message', data: { testid: 'message', messageKey: entry.messageKey, status: entry.status } },
    children,
  );
  entry.node?.replaceWith(node);
  entry.node = node;
}

/** Moves the entry's element before `next`'s (to the end when next is null). */
export function placeMessageNode(entry, next) {
  $('message-list').insertBefore(entry.node, next ? next.node : null);
}

/** `{ action, messageKey }` of a click on a message's button, or undefined. */
export function clickedMessageAction(event) {
  const button = event.target.closest('button[data-action]');
  const messageKey = button?.closest('li[data-message-key]')?.dataset.messageKey;
  return messageKey ? { action: button.dataset.action, messageKey } : undefined;
}

export function renderSeenBy(view) {
  const names = seenBy(view);
  const node = $('seen-by');
  if (names === null) {
    node.hidden = true;
    return;
  }
  node.textContent = names.length ? `Seen by ${names.join(', ')}` : '';
  node.hidden = names.length === 0;
}

export function renderHistoryStatus(view) {
  const text = !view.historyLoaded
    ? ''
    : view.hasMore
      ? 'Scroll up for older messages'
      : view.messages.length
        ? 'Beginning of the conversation'
        : 'No messages yet. Say hello!';
  setHistoryStatus(text);
}

export function setHistoryStatus(text) {
  $('history-status').textContent = text;
}

/** Shows the pane for a room whose history is about to load. */
export function showRoomPane(title) {
  $('no-room').hidden = true;
  $('room-pane').hidden = false;
  $('room-title').textContent = title;
  $('room-members').replaceChildren();
  $('message-list').replaceChildren();
  $('seen-by').hidden = true;
  setHistoryStatus('Loading…');
}

export function setRoomTitle(title) {
  $('room-title').textContent = title;
}

export function hideRoomPane() {
  $('message-list').replaceChildren();
  $('room-pane').hidden = true;
  $('no-room').hidden = false;
}

export function focusComposer() {
  $('message-input').focus();
}

// ---- scrolling -------------------------------------------------------------------------------

export function nearBottom() {
  const scroller = $('message-scroller');
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_EDGE_PX;
}

export const nearTop = () => $('message-scroller').scrollTop < NEAR_EDGE_PX;

export function scrollToBottom() {
  const scroller = $('message-scroller');
  scroller.scrollTop = scroller.scrollHeight;
}

/** Short histories leave nothing to scroll, so nothing would ever ask for the older pages. */
export function nothingToScroll() {
  const scroller = $('message-scroller');
  return scroller.scrollHeight <= scroller.clientHeight;
}

/** Runs `addOlder`, keeping the message the reader was looking at in place while older ones grow above it. */
export function growAbove(addOlder) {
  const scroller = $('message-scroller');
  const before = scroller.scrollHeight;
  addOlder();
  scroller.scrollTop += scroller.scrollHeight - before;
}
