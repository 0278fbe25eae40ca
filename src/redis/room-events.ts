import type { RedisClient } from './redis-client.js';

/**
 * Room events: everything that happens in a room other than a chat message (SPEC §6). Members
 * receive them on `/topic/room.{roomId}.events`, never on `/topic/room.{roomId}`, which carries
 * chat messages only, as in the Spring version: a client written for it parses every MESSAGE
 * there as a chat message.
 *
 * One envelope for every event: `{"type": "<TYPE>", "roomId": …, …fields of that type…,
 * "timestamp": <epoch ms>}`, `type` first, and the MESSAGE frame repeats the type in its `event`
 * header, so a client can dispatch without parsing and the server can set the header without
 * parsing either. Adding an event is one entry in `RoomEventPayloads` and a `publishRoomEvent`
 * call where it happens.
 *
 * They travel on a Redis channel of their own, `chat:room:{roomId}:events`, rather than on the
 * room's message channel, because an instance then subscribes to it only while one of its
 * sessions listens to the room's events: chat-only clients cost nothing for chatty events such as
 * typing, and the message path never has to tell two kinds of payload apart. Redis delivers what
 * one connection publishes to a subscriber in publish order across channels, so an event
 * published after a message by the same publisher arrives after it.
 */
export interface RoomEventPayloads {
  /** A member's read mark moved forward; `unreadCount` is that member's count after it, for their other tabs. */
  READ: { userId: number; lastReadMessageId: number; unreadCount: number };
}

export type RoomEventType = keyof RoomEventPayloads;

export const roomEventsChannel = (keyPrefix: string, roomId: number | string) => `${keyPrefix}chat:room:${roomId}:events`;

export function encodeRoomEvent<T extends RoomEventType>(
  type: T,
  roomId: number,
  fields: RoomEventPayloads[T],
  timestamp = Date.now(),
): string {
  return JSON.stringify({ type, roomId, ...fields, timestamp });
}

/** Publishes one event to the room's members on every instance (best effort, like all Pub/Sub). */
export async function publishRoomEvent<T extends RoomEventType>(
  redis: RedisClient,
  keyPrefix: string,
  type: T,
  roomId: number,
  fields: RoomEventPayloads[T],
): Promise<void> {
  await redis.publish(roomEventsChannel(keyPrefix, roomId), encodeRoomEvent(type, roomId, fields));
}

const TYPE_PREFIX = '{"type":"';
const EVENT_TYPE = /^[A-Z][A-Z_]{0,39}$/;

/** The `type` of an encoded event, read from its first bytes; undefined for anything else. */
export function roomEventTypeOf(payload: Buffer): string | undefined {
  const head = payload.toString('latin1', 0, TYPE_PREFIX.length + 41);
  const end = head.indexOf('"', TYPE_PREFIX.length);
  if (!head.startsWith(TYPE_PREFIX) || end < 0) return undefined;
  const type = head.slice(TYPE_PREFIX.length, end);
  return EVENT_TYPE.test(type) ? type : undefined;
}
