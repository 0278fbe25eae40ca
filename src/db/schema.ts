import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

export const userStatus = pgEnum('user_status', ['ONLINE', 'OFFLINE']);
export const roomType = pgEnum('room_type', ['DIRECT', 'GROUP']);
export const messageType = pgEnum('message_type', ['TEXT', 'IMAGE', 'SYSTEM']);

export const users = pgTable(
  'users',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // Stored normalised (trimmed, lower-cased), so the unique index is case-insensitive by construction.
    email: varchar('email', { length: 254 }).notNull().unique('users_email_unique'),
    passwordHash: text('password_hash').notNull(),
    nickname: varchar('nickname', { length: 50 }).notNull(),
    status: userStatus('status').notNull().default('OFFLINE'),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('users_nickname_lower_idx').using('btree', sql`lower(${table.nickname}) text_pattern_ops`)],
);

export const chatRooms = pgTable(
  'chat_rooms',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: varchar('name', { length: 100 }),
    type: roomType('type').notNull(),
    // "smallerId:largerId" for DIRECT rooms. The unique constraint is what makes two concurrent
    // requests for the same pair end with one room: the loser's insert conflicts and it reads the winner's.
    directKey: varchar('direct_key', { length: 64 }).unique('chat_rooms_direct_key_unique'),
    createdBy: bigint('created_by', { mode: 'number' }).references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('chat_rooms_direct_key_matches_type', sql`(${table.type} = 'DIRECT') = (${table.directKey} IS NOT NULL)`)],
);

export const chatRoomMembers = pgTable(
  'chat_room_members',
  {
    roomId: bigint('room_id', { mode: 'number' })
      .notNull()
      .references(() => chatRooms.id, { onDelete: 'cascade' }),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    lastReadMessageId: bigint('last_read_message_id', { mode: 'number' }),
    unreadCount: integer('unread_count').notNull().default(0),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'chat_room_members_pk', columns: [table.roomId, table.userId] }),
    index('chat_room_members_user_idx').on(table.userId),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // The client's idempotency key: unique per sender, not across the service, so a key copied
    // from someone else's message can never stand for theirs (docs/pipeline.md).
    messageKey: uuid('message_key').notNull(),
    roomId: bigint('room_id', { mode: 'number' })
      .notNull()
      .references(() => chatRooms.id, { onDelete: 'cascade' }),
    senderId: bigint('sender_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    content: text('content').notNull(),
    type: messageType('type').notNull().default('TEXT'),
    kafkaPartition: integer('kafka_partition'),
    kafkaOffset: bigint('kafka_offset', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // Plain DESC (nulls first): the order a bare `ORDER BY id DESC` asks for, so history pages scan it
  // forwards and `?after=` (ORDER BY id ASC) scans it backwards, with no null-order clause needed.
  (table) => [
    index('messages_room_id_id_desc_idx').on(table.roomId, table.id.desc().nullsFirst()),
    unique('messages_sender_id_message_key_unique').on(table.senderId, table.messageKey),
    // Lookups by key are always scoped to a room (read receipts, edits, deletes).
    index('messages_room_id_message_key_idx').on(table.roomId, table.messageKey),
  ],
);

export const schema = { users, chatRooms, chatRoomMembers, messages };
