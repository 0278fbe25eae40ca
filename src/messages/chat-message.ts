import { z } from 'zod';
import { isStorableText, STORABLE_TEXT_MESSAGE } from '../db/storable-text.js';
import { decodeJsonRecord, recordTimestampSchema } from '../kafka/record-json.js';

export const messageTypes = ['TEXT', 'IMAGE', 'SYSTEM'] as const;
export const MAX_CONTENT_LENGTH = 4000;

/**
 * Code points, not UTF-16 units: an emoji is one character to the person typing it. A string is
 * never more code points than UTF-16 units, so only a long one is walked (spreading every message
 * into an array of characters was 2 % of the service's CPU under load).
 */
const withinLength = (text: string) => text.length <= MAX_CONTENT_LENGTH || [...text].length <= MAX_CONTENT_LENGTH;

/**
 * A message's content, checked by the same rule where a SEND is accepted and where its record is
 * read back from Kafka: a consumer stricter than the publisher would dead-letter messages that
 * already got their RECEIPT (4,000 letters with spaces around them passed the one, not the other).
 */
export const contentSchema = z
  .string()
  .refine((text) => text.trim().length > 0, 'must not be empty')
  .refine((text) => withinLength(text.trim()), `must be at most ${MAX_CONTENT_LENGTH} characters`)
  .refine(isStorableText, STORABLE_TEXT_MESSAGE);

/**
 * The value of a `chat.messages` record, and the body of the MESSAGE frame subscribers get
 * (SPEC §6): plain JSON so operators can read it in Kafka UI.
 */
export const chatMessageSchema = z.object({
  messageKey: z.uuid(),
  roomId: z.number().int().positive(),
  senderId: z.number().int().positive(),
  senderNickname: z.string(),
  content: contentSchema,
  type: z.enum(messageTypes),
  timestamp: recordTimestampSchema,
});

export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Serialises with a fixed key order, so the bytes in Kafka, Redis and MESSAGE frames are the same. */
export function encodeChatMessage(message: ChatMessage): string {
  return JSON.stringify({
    messageKey: message.messageKey,
    roomId: message.roomId,
    senderId: message.senderId,
    senderNickname: message.senderNickname,
    content: message.content,
    type: message.type,
    timestamp: message.timestamp,
  });
}

/** Parses a `chat.messages` record value; anything unreadable is a PoisonRecordError. */
export function decodeChatMessage(value: Buffer | string | null): ChatMessage {
  return decodeJsonRecord(chatMessageSchema, value, 'chat message');
}

/**
 * Both consumer groups of an instance read every record of chat.messages, and each parsed it
 * (JSON, then the schema above): the second group takes the first one's result for the same
 * partition and offset, if the bytes are the same too (a topic deleted and made again reuses
 * offsets). An entry is dropped once both have read it, and the oldest go past `capacity` (a
 * group that lags, or a partition whose other group runs on another instance). A record that
 * fails to decode is not kept: each group fails it on its own.
 */
export function createSharedChatMessageDecoder(capacity = 5_000) {
  const decoded = new Map<string, { value: Buffer | string; message: ChatMessage }>();
  const same = (a: Buffer | string, b: Buffer | string) =>
    typeof a === 'string' || typeof b === 'string' ? a.toString() === b.toString() : a.equals(b);
  return (record: { partition: number; offset: string; value: Buffer | string | null }): ChatMessage => {
    const id = `${record.partition}:${record.offset}`;
    const known = decoded.get(id);
    if (known) {
      decoded.delete(id);
      if (record.value !== null && same(known.value, record.value)) return known.message;
    }
    const message = decodeChatMessage(record.value);
    decoded.set(id, { value: record.value!, message });
    if (decoded.size > capacity) decoded.delete(decoded.keys().next().value!);
    return message;
  };
}
