import type { Sql } from '../db/client.js';
import type { Member, RoomMember, RoomType } from './rooms-schemas.js';

export interface RoomRecord {
  roomId: number;
  name: string | null;
  type: RoomType;
  createdBy: number | null;
  createdAt: Date;
  members: RoomMember[];
}

export interface RoomListRecord {
  roomId: number;
  name: string | null;
  type: RoomType;
  createdAt: Date;
  memberCount: number;
  /** Filled for DIRECT rooms only. */
  members: Member[] | null;
  lastMessage: { id: number; content: string; senderId: number; senderNickname: string; createdAt: Date } | null;
}

export type RoomAccess = 'member' | 'not-member' | 'no-room';

/**
 * drizzle shares this postgres.js client and turns its timestamp parsing off (it maps dates in its
 * own query builder), so raw queries receive timestamptz as text and convert it here.
 */
const toDate = (value: string | Date) => new Date(value);

/** The key that makes a DIRECT room unique per pair, whichever side asks. */
export const directKey = (a: number, b: number) => `${Math.min(a, b)}:${Math.max(a, b)}`;

export function createRoomsRepository(sql: Sql) {
  return {
    /**
     * Race-safe by the unique constraint on direct_key: of two concurrent callers, one inserts
     * and the other's insert waits for it, does nothing, and then reads the winner's row.
     */
    async findOrCreateDirect(userId: number, otherUserId: number): Promise<{ roomId: number; created: boolean }> {
      const key = directKey(userId, otherUserId);
      return sql.begin(async (tx) => {
        const [inserted] = await tx<{ id: number }[]>`
          insert into chat_rooms (type, direct_key, created_by)
          values ('DIRECT', ${key}, ${userId})
          on conflict (direct_key) do nothing
          returning id`;
        if (inserted) {
          await tx`
            insert into chat_room_members (room_id, user_id)
            values (${inserted.id}, ${userId}), (${inserted.id}, ${otherUserId})`;
          return { roomId: inserted.id, created: true };
        }
        const [existing] = await tx<{ id: number }[]>`select id from chat_rooms where direct_key = ${key}`;
        if (!existing) throw new Error(`direct room ${key} conflicted but cannot be read`);
        return { roomId: existing.id, created: false };
      });
    },

    async createGroup(group: { name: string; createdBy: number; memberIds: number[] }): Promise<number> {
      return sql.begin(async (tx) => {
        const [room] = await tx<{ id: number }[]>`
          insert into chat_rooms (name, type, created_by)
          values (${group.name}, 'GROUP', ${group.createdBy})
          returning id`;
        if (!room) throw new Error('insert into chat_rooms returned no row');
        await tx`
          insert into chat_room_members (room_id, user_id)
          select ${room.id}, unnest(${sql.array(group.memberIds, 20)}::bigint[])`;
        return room.id;
      });
    },

    async findWithMembers(roomId: number): Promise<RoomRecord | null> {
      const [room] = await sql<(Omit<RoomRecord, 'createdAt'> & { createdAt: string })[]>`
        select r.id as "roomId", r.name, r.type, r.created_by as "createdBy", r.created_at as "createdAt",
          coalesce((
            select json_agg(json_build_object('userId', c.user_id, 'nickname', u.nickname, 'unreadCount', c.unread_count) order by c.joined_at, c.user_id)
            from chat_room_members c join users u on u.id = c.user_id
            where c.room_id = r.id
          ), '[]'::json) as members
        from chat_rooms r
        where r.id = ${roomId}`;
      return room ? { ...room, createdAt: toDate(room.createdAt) } : null;
    },

    /**
     * One statement for any number of rooms: the last message comes from a LATERAL subquery that
     * the (room_id, id desc) index answers with a single row per room.
     */
    async listForUser(userId: number): Promise<RoomListRecord[]> {
      const rows = await sql<
        (Omit<RoomListRecord, 'lastMessage'> & {
          createdAt: string;
          lastId: number | null;
          lastContent: string | null;
          lastSenderId: number | null;
          lastSenderNickname: string | null;
          lastCreatedAt: string | null;
        })[]
      >`
        select r.id as "roomId", r.name, r.type, r.created_at as "createdAt",
          (select count(*)::int from chat_room_members c where c.room_id = r.id) as "memberCount",
          case when r.type = 'DIRECT' then (
            select json_agg(json_build_object('userId', c.user_id, 'nickname', u.nickname) order by c.user_id)
            from chat_room_members c join users u on u.id = c.user_id
            where c.room_id = r.id
          ) end as members,
          last.id as "lastId", last.content as "lastContent", last.sender_id as "lastSenderId",
          sender.nickname as "lastSenderNickname", last.created_at as "lastCreatedAt"
        from chat_room_members me
        join chat_rooms r on r.id = me.room_id
        left join lateral (
          select m.id, m.content, m.sender_id, m.created_at
          from messages m
          where m.room_id = r.id
          order by m.id desc
          limit 1
        ) last on true
        left join users sender on sender.id = last.sender_id
        where me.user_id = ${userId}
        order by coalesce(last.created_at, r.created_at) desc, r.id desc`;
      // A joined message row has all of these set: the columns are NOT NULL and senders cascade.
      return rows.map(({ lastId, lastContent, lastSenderId, lastSenderNickname, lastCreatedAt, createdAt, ...room }) => ({
        ...room,
        createdAt: toDate(createdAt),
        lastMessage:
          lastId === null
            ? null
            : {
                id: lastId,
                content: lastContent!,
                senderId: lastSenderId!,
                senderNickname: lastSenderNickname!,
                createdAt: toDate(lastCreatedAt!),
              },
      }));
    },

    /** The caller's unread count per room. Kept apart so a cache can stand in front of it. */
    async unreadCounts(userId: number, roomIds: number[]): Promise<Map<number, number>> {
      if (roomIds.length === 0) return new Map();
      const rows = await sql<{ roomId: number; unreadCount: number }[]>`
        select room_id as "roomId", unread_count as "unreadCount"
        from chat_room_members
        where user_id = ${userId} and room_id = any(${sql.array(roomIds, 20)}::bigint[])`;
      return new Map(rows.map((row) => [row.roomId, row.unreadCount]));
    },

    /** Tells "no such room" from "not a member" in one round trip. */
    async access(roomId: number, userId: number): Promise<RoomAccess> {
      const [row] = await sql<{ roomExists: boolean; isMember: boolean }[]>`
        select exists (select 1 from chat_rooms where id = ${roomId}) as "roomExists",
               exists (select 1 from chat_room_members where room_id = ${roomId} and user_id = ${userId}) as "isMember"`;
      if (row?.isMember) return 'member';
      return row?.roomExists ? 'not-member' : 'no-room';
    },

    async isMember(roomId: number, userId: number): Promise<boolean> {
      const rows = await sql`select 1 from chat_room_members where room_id = ${roomId} and user_id = ${userId}`;
      return rows.length > 0;
    },

    async memberIds(roomId: number): Promise<number[]> {
      const rows = await sql<{ userId: number }[]>`
        select user_id as "userId" from chat_room_members where room_id = ${roomId} order by user_id`;
      return rows.map((row) => row.userId);
    },
  };
}

export type RoomsRepository = ReturnType<typeof createRoomsRepository>;
