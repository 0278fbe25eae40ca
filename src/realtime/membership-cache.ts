import type { Sql } from '../db/client.js';

/**
 * Room membership as the STOMP layer asks it: on every SUBSCRIBE and every SEND. Positive answers
 * are cached for a short while (members are never removed from a room today, and a new member is
 * a miss that goes to the database), so a busy room costs no query per message.
 */
export interface MembershipCache {
  isMember(roomId: number, userId: number): Promise<boolean>;
  /** Drop what is known about a room, e.g. after its members changed. */
  forgetRoom(roomId: number): void;
}

export function createMembershipCache(deps: { sql: Sql; ttlMs?: number; maxEntries?: number }): MembershipCache {
  const ttlMs = deps.ttlMs ?? 60_000;
  const maxEntries = deps.maxEntries ?? 100_000;
  const known = new Map<string, number>();

  return {
    async isMember(roomId, userId) {
      const key = `${roomId}:${userId}`;
      const until = known.get(key);
      if (until !== undefined && until > Date.now()) return true;
      const rows = await deps.sql`select 1 from chat_room_members where room_id = ${roomId} and user_id = ${userId}`;
      if (rows.length === 0) {
        known.delete(key);
        return false;
      }
      if (known.size >= maxEntries) known.clear();
      known.set(key, Date.now() + ttlMs);
      return true;
    },
    forgetRoom(roomId) {
      const prefix = `${roomId}:`;
      for (const key of known.keys()) if (key.startsWith(prefix)) known.delete(key);
    },
  };
}
