import { z } from 'zod';
import { isStorableText, STORABLE_TEXT_MESSAGE } from '../db/storable-text.js';

/**
 * An id as it arrives in a path or query string. Plain decimal only: `Number()` would happily
 * read '1e3', '0x10' or ' 1', so the digits are checked before converting.
 */
export const idString = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, 'must be a positive integer')
  .transform(Number)
  .pipe(z.number().int().max(Number.MAX_SAFE_INTEGER, 'must be a positive integer'));

export const roomIdParamsSchema = z.object({ roomId: idString });

export const roomTypeSchema = z.enum(['DIRECT', 'GROUP']);

export const directRoomBodySchema = z.object({
  targetUserId: z.number().int().positive(),
});

export const groupRoomBodySchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').refine(isStorableText, STORABLE_TEXT_MESSAGE),
  memberIds: z.array(z.number().int().positive()),
});

export const memberSchema = z.object({
  userId: z.number().int(),
  nickname: z.string(),
});

export const roomSchema = z.object({
  roomId: z.number().int(),
  /** The group's name, or for a DIRECT room the other user's nickname. */
  name: z.string().nullable(),
  type: roomTypeSchema,
  createdBy: z.number().int().nullable(),
  createdAt: z.date(),
  members: z.array(memberSchema),
});

export const lastMessageSchema = z.object({
  id: z.number().int(),
  content: z.string(),
  senderId: z.number().int(),
  senderNickname: z.string(),
  createdAt: z.date(),
});

export const roomSummarySchema = z.object({
  roomId: z.number().int(),
  name: z.string().nullable(),
  type: roomTypeSchema,
  memberCount: z.number().int(),
  /** Only for DIRECT rooms, where the two members are what a client shows. */
  members: z.array(memberSchema).optional(),
  lastMessage: lastMessageSchema.nullable(),
  unreadCount: z.number().int(),
});

export const roomListSchema = z.object({ rooms: z.array(roomSummarySchema) });

export type Member = z.infer<typeof memberSchema>;
export type Room = z.infer<typeof roomSchema>;
export type RoomSummary = z.infer<typeof roomSummarySchema>;
export type RoomType = z.infer<typeof roomTypeSchema>;
