/**
 * The room list and who is online. GET /api/rooms is read at log-in, every 5 s (that is how a room
 * someone else created appears), after every reconnect and when a message arrives for a room the
 * page does not know; live messages keep it current in between.
 */
import { listRooms, onlineMembers } from '../api.js';
import { pageVisible, toastIfUnreachable } from '../render/dom.js';
import { renderPresence, renderRooms } from '../render/room-list.js';
import { applyOnlineList, applyRoomList, recordLastMessage, state } from '../state.js';
import { scheduleMarkRead } from './read-receipts.js';
import { syncRoomSubscriptions } from './room-subscriptions.js';

export async function refreshRooms() {
  const session = state.session;
  if (!session) return;
  let data;
  try {
    data = await listRooms();
  } catch (error) {
    if (error.status !== 401) toastIfUnreachable(error);
    return;
  }
  if (state.session !== session) return;
  const seenRoomId = pageVisible() ? state.view?.roomId : undefined;
  const { fresh, seenHadUnread } = applyRoomList(data, seenRoomId);
  if (seenHadUnread) scheduleMarkRead(state.view);
  syncRoomSubscriptions();
  renderRooms();
  if (fresh.length) void refreshOnline(fresh);
}

/** Moves a room to the top with its newest message; a room not in the list yet is read from the server. */
export function touchRoom(roomId, message, countsAsUnread) {
  if (!recordLastMessage(roomId, message, countsAsUnread)) {
    // A room someone else just created: the list learns its name and members from the server.
    void refreshRooms();
    return;
  }
  renderRooms();
}

/** Asks the server who is online in these rooms; presence is decoration, so failures are ignored. */
export async function refreshOnline(roomIds = [...state.rooms.keys()]) {
  const session = state.session;
  await Promise.all(
    roomIds.map(async (roomId) => {
      try {
        const ids = await onlineMembers(roomId);
        if (state.session !== session) return;
        applyOnlineList(roomId, ids);
      } catch {
        // Presence is decoration: the chat works without it.
      }
    }),
  );
  renderPresence();
}
