/**
 * The life of the STOMP connection for one login. After every CONNECTED the client:
 * 1. subscribes to `/user/queue/errors`, the rooms (room-subscriptions.js) and `/topic/presence`,
 *    the last with a receipt: the server handles a session's frames in order, so that RECEIPT
 *    means every subscription before it is live;
 * 2. then resends the outbox and reads what it may have missed: the room list, who is online, and
 *    the open room's messages after the newest on screen. Anything sent after step 1 arrives live;
 *    anything before it is in PostgreSQL;
 * 3. reads the open room's gap once more a little later: broadcast (Redis) and storage
 *    (PostgreSQL) are separate consumer groups, so a message missed live while the socket was down
 *    may still have been on its way to the database during the first read.
 */
import { setConnectionState } from '../render/shell.js';
import { toast } from '../render/dom.js';
import { loadSession, tokenUsable } from '../session.js';
import { createStompConnection } from '../stomp-connection.js';
import { state } from '../state.js';
import { fillGap } from './conversation.js';
import { onPresence, onUserError } from './inbound-frames.js';
import { flushOutbox, markOutboxPending } from './outbox.js';
import { forgetRoomSubscriptions, syncRoomSubscriptions } from './room-subscriptions.js';
import { refreshOnline, refreshRooms } from './rooms.js';

const SECOND_GAP_FILL_MS = 2_500;
const SESSION_EXPIRED = 'Your session has expired. Please log in again.';
const TOKEN_REFUSED = /unauthori[sz]ed|token|expired|authenticat/i;

/** `onSessionEnded(message)` runs when the stored login is gone, expired or refused by the server. */
export function startRealtime({ onSessionEnded }) {
  const connection = createStompConnection({
    // Read for every attempt, so a reconnect never presents a token that a new login replaced.
    token: () => {
      const session = loadSession();
      return session && session.userId === state.session?.userId && tokenUsable(session.token) ? session.token : null;
    },
    onTokenMissing: () => onSessionEnded(SESSION_EXPIRED),
    onConnected: () => onConnected(connection),
    onClosed: () => {
      if (state.connection !== connection) return;
      state.connected = false;
      forgetRoomSubscriptions();
      setConnectionState('reconnecting');
      markOutboxPending();
    },
    onError: (message) => {
      if (TOKEN_REFUSED.test(message) && !state.connected) {
        onSessionEnded(SESSION_EXPIRED);
        return;
      }
      toast(message);
    },
  });
  state.connection = connection;
  connection.start();
}

export function stopRealtime() {
  const connection = state.connection;
  state.connection = null;
  state.connected = false;
  forgetRoomSubscriptions();
  if (connection) void connection.stop();
}

function onConnected(connection) {
  if (state.connection !== connection) return;
  state.connected = true;
  state.generation += 1;
  const generation = state.generation;
  setConnectionState('connected');
  forgetRoomSubscriptions();
  connection.subscribe('/user/queue/errors', onUserError);
  // The gap fill after the last receipt below covers these rooms.
  syncRoomSubscriptions({ fillWhenLive: false });
  connection.subscribe('/topic/presence', onPresence, {
    receipt: `subscribed-${generation}`,
    onReceipt: () => void afterSubscribed(generation),
  });
}

async function afterSubscribed(generation) {
  const current = () => state.generation === generation && state.connected;
  flushOutbox();
  await Promise.all([refreshRooms(), refreshOnline(), state.view ? fillGap(state.view) : undefined]);
  setTimeout(() => {
    if (current() && state.view) void fillGap(state.view);
  }, SECOND_GAP_FILL_MS);
}
