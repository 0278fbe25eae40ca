import { z } from 'zod';
import { isStorableText, STORABLE_TEXT_MESSAGE } from '../db/storable-text.js';
import { idParamSchema, idSchema } from '../ids.js';

export const roomIdParamsSchema = z.object({ roomId: idParamSchema });

export const roomTypeSchema = z.enum(['DIRECT', 'GROUP']);

export const directRoomBodySchema = z.object({
  targetUserId: idSchema,
});

export const groupRoomBodySchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(100, 'must be at most 100 characters')
    .refine(isStorableText, STORABLE_TEXT_MESSAGE),
  memberIds: z.array(idSchema),
});

export const memberSchema = z.object({
  userId: z.number().int(),
  nickname: z.string(),
});

/** A member in a room's own view: also their unread count there, as the Spring version's MemberInfo. */
export const roomMemberSchema = memberSchema.extend({ unreadCount: z.number().int() });

/**
 * Rooms carry their id twice: `roomId` (this service's name) and `id` (the Spring version's
 * ChatRoomResponse and ChatRoomListResponse), so clients written for either read it.
 */
export const roomSchema = z.object({
  id: z.number().int(),
  roomId: z.number().int(),
  /** The group's name, or for a DIRECT room the other user's nickname. */
  name: z.string().nullable(),
  type: roomTypeSchema,
  createdBy: z.number().int().nullable(),
  createdAt: z.date(),
  members: z.array(roomMemberSchema),
});

export const lastMessageSchema = z.object({
  id: z.number().int(),
  content: z.string(),
  senderId: z.number().int(),
  senderNickname: z.string(),
  createdAt: z.date(),
});

export const roomSummarySchema = z.object({
  id: z.number().int(),
  roomId: z.number().int(),
  name: z.string().nullable(),
  type: roomTypeSchema,
  createdAt: z.date(),
  memberCount: z.number().int(),
  /** Only for DIRECT rooms, where the two members are what a client shows. */
  members: z.array(memberSchema).optional(),
  lastMessage: lastMessageSchema.nullable(),
  unreadCount: z.number().int(),
});

/** A bare array, as the Spring version's List<ChatRoomListResponse>: its clients do `rooms.map(…)`. */
export const roomListSchema = z.array(roomSummarySchema);

export type Member = z.infer<typeof memberSchema>;
export type RoomMember = z.infer<typeof roomMemberSchema>;
export type Room = z.infer<typeof roomSchema>;
export type RoomSummary = z.infer<typeof roomSummarySchema>;
export type RoomType = z.infer<typeof roomTypeSchema>;
