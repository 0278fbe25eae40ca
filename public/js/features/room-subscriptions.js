/**
 * The `/topic/room.{id}` subscriptions of the current connection: the rooms of the list (the 90
 * most recently active, plus the open one), each SUBSCRIBE with a receipt. The server allows 100
 * subscriptions per session and the errors and presence queues take two; rooms past the limit still
 * get their badges from the periodic room list.
 *
 * What a frame means is not decided here: main.js passes the handlers in (configureRoomSubscriptions),
 * so rooms.js and conversation.js can ask for a sync without depending on the frame handlers.
 */
import { state } from '../state.js';

/** Two subscriptions a room (its messages and its events), under the server's 100 a session. */
const MAX_ROOM_SUBSCRIPTIONS = 45;

/** roomId → `{ subscription, live }`; `live` once the server's RECEIPT came back. */
const roomSubscriptions = new Map();

const handlers = {
  onFrame: () => {},
  onEvent: () => {},
  /** The open room's subscription became live after its history was already read. */
  onOpenRoomLive: () => {},
};

export function configureRoomSubscriptions({ onFrame, onEvent, onOpenRoomLive }) {
  handlers.onFrame = onFrame;
  handlers.onEvent = onEvent;
  handlers.onOpenRoomLive = onOpenRoomLive;
}

/** The connection they belonged to is gone (closed, or replaced by a new CONNECTED). */
export function forgetRoomSubscriptions() {
  roomSubscriptions.clear();
}

/**
 * Subscribes to the rooms of the list. A room subscribed while its history is already on screen
 * (it just appeared, or the page opened it before the subscription was live) reads the history
 * again once the server confirms the subscription, so a message sent in between is not lost.
 * After a CONNECTED the caller passes `fillWhenLive: false`: its own gap fill covers every room.
 */
export function syncRoomSubscriptions({ fillWhenLive = true } = {}) {
  const connection = state.connection;
  if (!connection || !state.connected) return;
  const wanted = new Set([...state.rooms.keys()].slice(0, MAX_ROOM_SUBSCRIPTIONS));
  if (state.view && state.rooms.has(state.view.roomId)) wanted.add(state.view.roomId);
  // Unsubscribe first, so the count never passes the server's limit on the way.
  for (const [roomId, entry] of roomSubscriptions) {
    if (wanted.has(roomId)) continue;
    entry.subscription.unsubscribe();
    entry.events.unsubscribe();
    roomSubscriptions.delete(roomId);
  }
  for (const roomId of wanted) {
    if (roomSubscriptions.has(roomId)) continue;
    const entry = { subscription: null, events: null, live: false };
    const onReceipt = () => {
      entry.live = true;
      if (fillWhenLive && state.view?.roomId === roomId && roomSubscriptions.get(roomId) === entry) handlers.onOpenRoomLive(state.view);
    };
    entry.events = connection.subscribe(`/topic/room.${roomId}.events`, (frame) => handlers.onEvent(roomId, frame));
    entry.subscription = connection.subscribe(`/topic/room.${roomId}`, (frame) => handlers.onFrame(roomId, frame), {
      receipt: `room-${roomId}-${state.generation}`,
      onReceipt,
    });
    roomSubscriptions.set(roomId, entry);
  }
}
