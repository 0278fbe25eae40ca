import type { Sql } from '../db/client.js';

export interface ReceiptCheck {
  roomExists: boolean;
  isMember: boolean;
  /** The named message, if it is stored: by id in whichever room, by key only in the receipt's room. */
  message: { id: number; roomId: number } | null;
}

export interface ReceiptOutcome {
  /** False when the member had already read as far or further: nothing was written. */
  changed: boolean;
  lastReadMessageId: number;
  unreadCount: number;
}

export type MessageRef = { id: number } | { key: string };

/**
 * The named message: by id in whichever room (the caller checks the room), by key only within the
 * receipt's room, since keys are unique per sender, not per service. Should two senders' messages
 * in one room share a key, the first one counts (docs/pipeline.md).
 */
const namedMessage = (sql: Sql, roomId: number, ref: MessageRef) =>
  'id' in ref
    ? sql<{ id: number; roomId: number }[]>`select id, room_id as "roomId" from messages where id = ${ref.id}`
    : sql<{ id: number; roomId: number }[]>`
        select id, room_id as "roomId" from messages where room_id = ${roomId} and message_key = ${ref.key}::uuid order by id limit 1`;

export function createReceiptsRepository(sql: Sql) {
  return {
    /** Room, membership and the named message in one round trip, for the synchronous checks. */
    async check(roomId: number, userId: number, ref: MessageRef): Promise<ReceiptCheck> {
      const [row] = await sql<{ roomExists: boolean; isMember: boolean; messageId: number | null; messageRoomId: number | null }[]>`
        select exists (select 1 from chat_rooms where id = ${roomId}) as "roomExists",
               exists (select 1 from chat_room_members where room_id = ${roomId} and user_id = ${userId}) as "isMember",
               m.id as "messageId", m."roomId" as "messageRoomId"
        from (select 1) as one
        left join (${namedMessage(sql, roomId, ref)}) as m on true`;
      return {
        roomExists: row?.roomExists ?? false,
        isMember: row?.isMember ?? false,
        message: row?.messageId != null && row.messageRoomId != null ? { id: row.messageId, roomId: row.messageRoomId } : null,
      };
    },

    /** By id in whichever room (the caller checks the room), by key within `roomId`. */
    async findMessage(roomId: number, ref: MessageRef): Promise<{ id: number; roomId: number } | null> {
      const [row] = await namedMessage(sql, roomId, ref);
      return row ?? null;
    },

    /**
     * Moves the member's read mark forward (never back) and recomputes the unread count from the
     * messages themselves. The row is locked first and the count runs as a statement of its own:
     * under READ COMMITTED it then sees every message whose transaction committed before the lock
     * was granted, and a message transaction still running will add its count to ours when it gets
     * the lock. Counting inside the UPDATE instead would use a snapshot taken before the lock wait
     * and could overwrite a concurrent increment. Null when the user is not a member.
     */
    async apply(roomId: number, userId: number, messageId: number): Promise<ReceiptOutcome | null> {
      return sql.begin(async (tx) => {
        const [member] = await tx<{ lastRead: number | null; unreadCount: number }[]>`
          select last_read_message_id as "lastRead", unread_count as "unreadCount"
          from chat_room_members
          where room_id = ${roomId} and user_id = ${userId}
          for update`;
        if (!member) return null;
        if (member.lastRead !== null && member.lastRead >= messageId) {
          return { changed: false, lastReadMessageId: member.lastRead, unreadCount: member.unreadCount };
        }
        const [counted] = await tx<{ unread: number }[]>`
          select count(*)::int as unread
          from messages
          where room_id = ${roomId} and id > ${messageId} and sender_id <> ${userId}`;
        const unreadCount = counted?.unread ?? 0;
        await tx`
          update chat_room_members
          set last_read_message_id = ${messageId}, unread_count = ${unreadCount}
          where room_id = ${roomId} and user_id = ${userId}`;
        return { changed: true, lastReadMessageId: messageId, unreadCount };
      });
    },
  };
}

export type ReceiptsRepository = ReturnType<typeof createReceiptsRepository>;
