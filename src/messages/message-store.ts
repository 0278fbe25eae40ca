import type { Sql } from '../db/client.js';
import type { ChatMessage } from './chat-message.js';

export interface StoredMessageInput {
  message: ChatMessage;
  partition: number;
  offset: string;
}

export interface StoreResult {
  /** Rows actually inserted (a sender's key already stored inserts nothing). */
  inserted: { id: number; messageKey: string; roomId: number; senderId: number }[];
  /** Members whose unread count went up, for cache invalidation after commit. */
  bumped: { roomId: number; userId: number }[];
}

/**
 * Stores a batch in one statement, so in one transaction: the insert is idempotent on (sender,
 * message_key), and unread counts rise by the number of rows really inserted per member (never
 * the sender's), so a redelivered batch changes nothing. Rows go in in Kafka order, so ids follow
 * it per room.
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

  // One statement, so one round trip and one implicit transaction: the unread update reads the
  // insert's RETURNING rows (a data-modifying CTE), where BEGIN, INSERT, UPDATE and COMMIT were
  // four round trips per batch.
  const result = await sql<
    { id: number | null; messageKey: string | null; roomId: number; senderId: number | null; userId: number | null }[]
  >`
    with inserted as (
      insert into messages (message_key, room_id, sender_id, content, type, kafka_partition, kafka_offset, created_at)
      select x.message_key, x.room_id, x.sender_id, x.content, x.type::message_type, x.kafka_partition, x.kafka_offset, x.created_at
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(
        ord int, message_key uuid, room_id bigint, sender_id bigint, content text, type text,
        kafka_partition int, kafka_offset bigint, created_at timestamptz)
      order by x.ord
      on conflict (sender_id, message_key) do nothing
      returning id, message_key, room_id, sender_id
    ), bumped as (
      update chat_room_members m
      set unread_count = m.unread_count + x.n
      from (
        select i.room_id, mem.user_id, count(*)::int as n
        from inserted i
        join chat_room_members mem on mem.room_id = i.room_id and mem.user_id <> i.sender_id
        group by i.room_id, mem.user_id
      ) x
      where m.room_id = x.room_id and m.user_id = x.user_id
      returning m.room_id, m.user_id
    )
    select id, message_key as "messageKey", room_id as "roomId", sender_id as "senderId", null::bigint as "userId" from inserted
    union all
    select null, null, room_id, null, user_id from bumped`;
  const stored: StoreResult = { inserted: [], bumped: [] };
  for (const row of result) {
    if (row.userId === null)
      stored.inserted.push({ id: row.id!, messageKey: row.messageKey!, roomId: row.roomId, senderId: row.senderId! });
    else stored.bumped.push({ roomId: row.roomId, userId: row.userId });
  }
  // Ids follow Kafka order; the union does not promise to keep the insert's row order.
  stored.inserted.sort((a, b) => a.id - b.id);
  return stored;
}

/**
 * What a key already stands for: the sender's own message under it if there is one, else another
 * sender's message under it in the same room, else nothing.
 */
export async function findKeyUse(
  sql: Sql,
  message: Pick<ChatMessage, 'messageKey' | 'senderId' | 'roomId'>,
): Promise<{ senderId: number; roomId: number; type: string; content: string } | undefined> {
  const [use] = await sql<{ senderId: number; roomId: number; type: string; content: string }[]>`
    select sender_id as "senderId", room_id as "roomId", type, content
    from messages
    where message_key = ${message.messageKey}::uuid and (sender_id = ${message.senderId} or room_id = ${message.roomId})
    order by sender_id = ${message.senderId} desc, id
    limit 1`;
  return use;
}

export interface RoomMessageRef {
  roomId: number;
  messageKey: string;
}

/**
 * The stored messages among `refs`, by key within their room, as `roomId:messageKey` → id. Where a
 * key has two messages in one room (two senders, see docs/pipeline.md), the first one counts.
 */
export async function findByRoomAndKey(sql: Sql, refs: RoomMessageRef[]): Promise<Map<string, number>> {
  if (refs.length === 0) return new Map();
  const rows = await sql<{ roomId: number; messageKey: string; id: number }[]>`
    select m.room_id as "roomId", m.message_key as "messageKey", min(m.id) as id
    from messages m
    join unnest(${sql.array(refs.map((ref) => ref.roomId))}::bigint[], ${sql.array(refs.map((ref) => ref.messageKey))}::uuid[])
      as r(room_id, message_key) on m.room_id = r.room_id and m.message_key = r.message_key
    group by m.room_id, m.message_key`;
  return new Map(rows.map((row) => [roomKey(row), row.id]));
}

export const roomKey = (ref: RoomMessageRef) => `${ref.roomId}:${ref.messageKey.toLowerCase()}`;

/**
 * The messages whose sender's key is stored with something else (another room, type or content):
 * a resend is the same message, these are not. The key claim refuses such SENDs; one can still get
 * through while Redis is away (docs/pipeline.md).
 */
export async function findKeyConflicts(sql: Sql, skipped: ChatMessage[]): Promise<ChatMessage[]> {
  if (skipped.length === 0) return [];
  const rows = await sql<{ senderId: number; messageKey: string; roomId: number; type: string; content: string }[]>`
    select m.sender_id as "senderId", m.message_key as "messageKey", m.room_id as "roomId", m.type, m.content
    from messages m
    join unnest(
      ${sql.array(skipped.map((message) => message.senderId))}::bigint[],
      ${sql.array(skipped.map((message) => message.messageKey))}::uuid[]
    ) as k(sender_id, message_key) on m.sender_id = k.sender_id and m.message_key = k.message_key`;
  const stored = new Map(rows.map((row) => [`${row.senderId}:${row.messageKey}`, row]));
  return skipped.filter((message) => {
    const row = stored.get(`${message.senderId}:${message.messageKey.toLowerCase()}`);
    return row !== undefined && (row.roomId !== message.roomId || row.type !== message.type || row.content !== message.content);
  });
}
