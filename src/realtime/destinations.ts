/**
 * The STOMP destinations this server knows (SPEC §6). Anything else is refused: a client never
 * gets to name an arbitrary Redis channel or Kafka topic.
 */
export type Destination =
  | { kind: 'room'; roomId: number }
  | { kind: 'room-events'; roomId: number }
  | { kind: 'presence' }
  | { kind: 'user-errors' }
  | { kind: 'chat-send' }
  | { kind: 'chat-read' }
  | { kind: 'token-refresh' };

/** The WebSocket path STOMP is served on. */
export const STOMP_ENDPOINT = '/ws';

/** A room's chat messages, and nothing else (the Spring version's destination). */
const ROOM_TOPIC = /^\/topic\/room\.([1-9]\d{0,15})$/;
/** Everything else that happens in a room: read marks now, edits, typing and membership later. */
const ROOM_EVENTS_TOPIC = /^\/topic\/room\.([1-9]\d{0,15})\.events$/;

export const roomTopic = (roomId: number | string) => `/topic/room.${roomId}`;
export const roomEventsTopic = (roomId: number | string) => `/topic/room.${roomId}.events`;
export const PRESENCE_TOPIC = '/topic/presence';
export const USER_ERRORS_QUEUE = '/user/queue/errors';
export const CHAT_SEND = '/app/chat.send';
export const CHAT_READ = '/app/chat.read';
export const TOKEN_REFRESH = '/app/token.refresh';

export function parseSubscribeDestination(destination: string): Destination | undefined {
  const room = ROOM_TOPIC.exec(destination);
  if (room) return { kind: 'room', roomId: Number(room[1]) };
  const events = ROOM_EVENTS_TOPIC.exec(destination);
  if (events) return { kind: 'room-events', roomId: Number(events[1]) };
  if (destination === PRESENCE_TOPIC) return { kind: 'presence' };
  if (destination === USER_ERRORS_QUEUE) return { kind: 'user-errors' };
  return undefined;
}

export function parseSendDestination(destination: string): Destination | undefined {
  if (destination === CHAT_SEND) return { kind: 'chat-send' };
  if (destination === CHAT_READ) return { kind: 'chat-read' };
  if (destination === TOKEN_REFRESH) return { kind: 'token-refresh' };
  return undefined;
}
