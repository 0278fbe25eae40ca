import { z } from 'zod';
import { idSchema } from '../ids.js';
import { recordTimestampSchema } from '../kafka/record-json.js';

/**
 * A client names what it has read by id (it loaded history) or by key (it only saw the message
 * live, where the MESSAGE body carries the key but not the id). Exactly one of the two.
 */
const readTarget = {
  lastReadMessageId: idSchema.optional(),
  lastReadMessageKey: z.uuid().optional(),
};

const exactlyOne = (target: { lastReadMessageId?: number; lastReadMessageKey?: string }) =>
  (target.lastReadMessageId === undefined) !== (target.lastReadMessageKey === undefined);
const exactlyOneIssue = { message: 'give exactly one of lastReadMessageId and lastReadMessageKey', path: ['lastReadMessageId'] };

/** POST /api/rooms/{roomId}/read */
export const readBodySchema = z.object(readTarget).refine(exactlyOne, exactlyOneIssue);

/** SEND /app/chat.read: the same, with the room in the body. */
export const stompReadBodySchema = z.object({ roomId: idSchema, ...readTarget }).refine(exactlyOne, exactlyOneIssue);

export type ReadTarget = z.infer<typeof readBodySchema>;

export const readAcceptedSchema = z.object({
  roomId: z.number().int(),
  /** Null when the client named a key whose message is not stored yet; the consumer resolves it. */
  lastReadMessageId: z.number().int().nullable(),
  lastReadMessageKey: z.string().nullable(),
});

/**
 * The value of a `chat.read-receipts` record (key = roomId), JSON for Kafka UI. The id is filled
 * when the message was already stored at request time; otherwise only the key is known.
 */
export const readReceiptRecordSchema = z.object({
  roomId: z.number().int().positive(),
  userId: z.number().int().positive(),
  lastReadMessageId: z.number().int().positive().optional(),
  lastReadMessageKey: z.uuid().optional(),
  timestamp: recordTimestampSchema,
});

export type ReadReceiptRecord = z.infer<typeof readReceiptRecordSchema>;
