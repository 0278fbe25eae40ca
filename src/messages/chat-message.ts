import { z } from 'zod';
import { decodeJsonRecord } from '../kafka/record-json.js';

export const messageTypes = ['TEXT', 'IMAGE', 'SYSTEM'] as const;
export const MAX_CONTENT_LENGTH = 4000;

/**
 * The value of a `chat.messages` record, and the body of the MESSAGE frame subscribers get
 * (SPEC §6): plain JSON so operators can read it in Kafka UI.
 */
export const chatMessageSchema = z.object({
  messageKey: z.uuid(),
  roomId: z.number().int().positive(),
  senderId: z.number().int().positive(),
  senderNickname: z.string(),
  content: z.string().min(1).max(MAX_CONTENT_LENGTH),
  type: z.enum(messageTypes),
  timestamp: z.iso.datetime({ offset: true }),
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
