import type { Sql } from '../db/client.js';

export function createPresenceRepository(sql: Sql) {
  return {
    /**
     * Transitions come from different instances and may reach the database out of order; each
     * carries the Redis time it happened at, and an older one never overwrites a newer one.
     */
    async setStatus(userId: number, status: 'ONLINE' | 'OFFLINE', at: Date): Promise<void> {
      // drizzle makes this shared client pass timestamps through untouched, so they go as ISO text.
      const when = at.toISOString();
      await sql`
        update users set status = ${status}::user_status, last_seen_at = ${when}::timestamptz
        where id = ${userId} and (last_seen_at is null or last_seen_at <= ${when}::timestamptz)`;
    },

    /** The room's member ids, or null when there is no such room. */
    async roomMembers(roomId: number): Promise<number[] | null> {
      const rows = await sql<{ userId: number | null }[]>`
        select m.user_id as "userId"
        from chat_rooms r left join chat_room_members m on m.room_id = r.id
        where r.id = ${roomId}
        order by m.user_id`;
      if (rows.length === 0) return null;
      return rows.flatMap((row) => (row.userId === null ? [] : [row.userId]));
    },
  };
}

export type PresenceRepository = ReturnType<typeof createPresenceRepository>;
