/**
 * What members see on `/topic/room.{roomId}` when someone reads: a MESSAGE with the header
 * `event:read` and a body whose first field is `event`. It travels the room's own Redis channel,
 * `chat:room:{roomId}`, so every instance already subscribed for the room delivers it with no
 * extra subscription. Chat messages have no `event` field or header; their `type` is
 * TEXT/IMAGE/SYSTEM.
 */
export interface ReadEvent {
  event: 'READ';
  roomId: number;
  userId: number;
  lastReadMessageId: number;
  /** The reader's unread count in this room after the receipt, for the reader's other tabs. */
  unreadCount: number;
  timestamp: string;
}

/** Fixed key order: the body starts with this, which is how delivery recognises it without parsing. */
export function encodeReadEvent(event: Omit<ReadEvent, 'event'>): string {
  return JSON.stringify({
    event: 'READ',
    roomId: event.roomId,
    userId: event.userId,
    lastReadMessageId: event.lastReadMessageId,
    unreadCount: event.unreadCount,
    timestamp: event.timestamp,
  });
}

const READ_EVENT_PREFIX = Buffer.from('{"event":"READ"');
const READ_EVENT_FRAME = { headers: { event: 'read' } };
const CHAT_MESSAGE_FRAME = {};

/** Frame options for a payload from `chat:room:{id}`: the `event:read` header for read events. */
export function roomFrameOptions(payload: Buffer): { headers?: Record<string, string> } {
  return payload.length > READ_EVENT_PREFIX.length && payload.subarray(0, READ_EVENT_PREFIX.length).equals(READ_EVENT_PREFIX)
    ? READ_EVENT_FRAME
    : CHAT_MESSAGE_FRAME;
}
