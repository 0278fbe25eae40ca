/**
 * The room list (name, last message, unread badge, online dot of a direct room's other member)
 * and the open room's member list. Rows carry `data-room-id`; main.js handles their clicks.
 */
import { $, el } from './dom.js';
import { directPeer, roomLabel, state } from '../state.js';

/** Room rows are updated in place, so a click never lands on a row that was just replaced. */
const roomRows = new Map();

function roomRow(roomId) {
  let row = roomRows.get(roomId);
  if (row) return row;
  const dot = el('span', { className: 'dot', data: { testid: 'presence-dot' } });
  const name = el('span', { className: 'room-name', data: { testid: 'room-name' } });
  const preview = el('span', { className: 'room-preview', data: { testid: 'room-preview' } });
  const badge = el('span', { className: 'badge', data: { testid: 'unread-badge' } });
  const button = el('button', { attrs: { type: 'button' } }, [dot, name, preview, badge]);
  const item = el('li', { data: { testid: 'room-item', roomId } }, [button]);
  row = { item, dot, name, preview, badge };
  roomRows.set(roomId, row);
  return row;
}

export function renderRooms() {
  const list = $('room-list');
  const wanted = [];
  for (const room of state.rooms.values()) {
    const row = roomRow(room.roomId);
    const peer = directPeer(room);
    const online = peer ? state.online.has(peer.userId) : false;
    row.dot.className = peer ? 'dot' : 'dot group';
    row.dot.dataset.online = String(online);
    row.dot.title = peer ? (online ? 'online' : 'offline') : 'group';
    row.name.textContent = roomLabel(room);
    row.preview.textContent = room.lastMessage ? `${room.lastMessage.senderNickname}: ${room.lastMessage.content}` : 'No messages yet';
    row.badge.textContent = String(room.unreadCount);
    row.badge.hidden = room.unreadCount === 0;
    row.item.dataset.unread = String(room.unreadCount);
    row.item.dataset.type = room.type;
    if (state.view?.roomId === room.roomId) row.item.setAttribute('aria-current', 'true');
    else row.item.removeAttribute('aria-current');
    wanted.push(row.item);
  }
  for (const [roomId, row] of roomRows) {
    if (state.rooms.has(roomId)) continue;
    row.item.remove();
    roomRows.delete(roomId);
  }
  wanted.forEach((item, index) => {
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
  });
  $('rooms-empty').hidden = wanted.length > 0;
}

/** The room of a click inside the room list, or undefined. */
export function clickedRoomId(event) {
  const item = event.target.closest('button')?.closest('li[data-room-id]');
  return item ? Number(item.dataset.roomId) : undefined;
}

export function clearRooms() {
  roomRows.clear();
  $('room-list').replaceChildren();
}

export function renderMembers() {
  const view = state.view;
  if (!view?.room) return;
  const items = view.room.members.map((member) =>
    el('li', { data: { testid: 'member', userId: member.userId } }, [
      el('span', { className: 'dot', data: { testid: 'presence-dot', online: state.online.has(member.userId) } }),
      el('span', { text: member.userId === state.session?.userId ? `${member.nickname} (you)` : member.nickname }),
    ]),
  );
  $('room-members').replaceChildren(...items);
}

/** Online dots appear in both lists. */
export function renderPresence() {
  renderRooms();
  renderMembers();
}
