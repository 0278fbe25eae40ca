import type { Sql } from '../db/client.js';
import type { messageTypes } from './chat-message.js';

export interface HistoryMessage {
  id: number;
  messageKey: string;
  roomId: number;
  senderId: number;
  senderNickname: string;
  content: string;
  type: (typeof messageTypes)[number];
  createdAt: Date;
}

/**
 * drizzle shares this postgres.js client and turns its timestamp parsing off (it maps dates in its
 * own query builder), so raw queries receive timestamptz as text and convert it here.
 */
const toDate = (value: string | Date) => new Date(value);

/** Older than `before` (newest first), or newer than `after` (oldest first); never both. */
export type HistoryWindow = { before?: number; after?: undefined } | { after: number; before?: undefined };

export function createMessagesRepository(sql: Sql) {
  return {
    /** Keyset read on the (room_id, id desc) index: cost follows `limit`, not the room's size. */
    async list(roomId: number, window: HistoryWindow, limit: number): Promise<HistoryMessage[]> {
      const bound =
        window.after !== undefined
          ? sql`and m.id > ${window.after}`
          : window.before !== undefined
            ? sql`and m.id < ${window.before}`
            : sql``;
      // The index is (room_id, id DESC): pages walk it forwards, `after` walks it backwards.
      const order = window.after !== undefined ? sql`asc` : sql`desc`;
      const rows = await sql<(Omit<HistoryMessage, 'createdAt'> & { createdAt: string })[]>`
        select m.id, m.message_key as "messageKey", m.room_id as "roomId", m.sender_id as "senderId",
          u.nickname as "senderNickname", m.content, m.type, m.created_at as "createdAt"
        from messages m
        join users u on u.id = m.sender_id
        where m.room_id = ${roomId} ${bound}
        order by m.id ${order}
        limit ${limit}`;
      return rows.map((row) => ({ ...row, createdAt: toDate(row.createdAt) }));
    },
  };
}

export type MessagesRepository = ReturnType<typeof createMessagesRepository>;
