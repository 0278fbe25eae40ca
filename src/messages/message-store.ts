import type { Sql } from '../db/client.js';
import type { ChatMessage } from './chat-message.js';

export interface StoredMessageInput {
  message: ChatMessage;
  partition: number;
  offset: string;
}

export interface StoreResult {
  /** Rows actually inserted (a duplicate messageKey inserts nothing). */
  inserted: { id: number; messageKey: string; roomId: number; senderId: number }[];
  /** Members whose unread count went up, for cache invalidation after commit. */
  bumped: { roomId: number; userId: number }[];
}

/**
 * Stores a batch in one statement and one transaction: the insert is idempotent on message_key,
 * and unread counts rise by the number of rows really inserted per member (never the sender's),
 * so a redelivered batch changes nothing. Rows go in in Kafka order, so ids follow it per room.
 */
export async function storeMessages(sql: Sql, batch: StoredMessageInput[]): Promise<StoreResult> {
  if (batch.length === 0) return { inserted: [], bumped: [] };
  const rows = batch.map((item, ord) => ({
    ord,
    message_key: item.message.messageKey,
    room_id: item.message.roomId,
    sender_id: item.message.senderId,
    content: item.message.content,
    type: item.message.type,
    kafka_partition: item.partition,
    kafka_offset: item.offset,
    created_at: item.message.timestamp,
  }));

  return sql.begin(async (tx) => {
    const inserted = await tx<{ id: number; messageKey: string; roomId: number; senderId: number }[]>`
      insert into messages (message_key, room_id, sender_id, content, type, kafka_partition, kafka_offset, created_at)
      select x.message_key, x.room_id, x.sender_id, x.content, x.type::message_type, x.kafka_partition, x.kafka_offset, x.created_at
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(
        ord int, message_key uuid, room_id bigint, sender_id bigint, content text, type text,
        kafka_partition int, kafka_offset bigint, created_at timestamptz)
      order by x.ord
      on conflict (message_key) do nothing
      returning id, message_key as "messageKey", room_id as "roomId", sender_id as "senderId"`;
    if (inserted.length === 0) return { inserted: [], bumped: [] };

    const perRoomSender = inserted.map((row) => ({ room_id: row.roomId, sender_id: row.senderId }));
    const bumped = await tx<{ roomId: number; userId: number }[]>`
      update chat_room_members m
      set unread_count = m.unread_count + x.n
      from (
        select i.room_id, mem.user_id, count(*)::int as n
        from jsonb_to_recordset(${JSON.stringify(perRoomSender)}::jsonb) as i(room_id bigint, sender_id bigint)
        join chat_room_members mem on mem.room_id = i.room_id and mem.user_id <> i.sender_id
        group by i.room_id, mem.user_id
      ) x
      where m.room_id = x.room_id and m.user_id = x.user_id
      returning m.room_id as "roomId", m.user_id as "userId"`;
    return { inserted: [...inserted], bumped: [...bumped] };
  });
}
