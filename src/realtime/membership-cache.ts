/**
 * Room membership as the STOMP layer asks it: on every SUBSCRIBE and every SEND. Positive answers
 * are cached for a short while (members are never removed from a room today, and a new member is
 * a miss that goes to the database), so a busy room costs no query per message.
 */
export interface MembershipCache {
  isMember(roomId: number, userId: number): Promise<boolean>;
}

export function createMembershipCache(deps: {
  /** The source of truth, asked on a miss. */
  lookup: (roomId: number, userId: number) => Promise<boolean>;
  ttlMs?: number;
  maxEntries?: number;
}): MembershipCache {
  const ttlMs = deps.ttlMs ?? 60_000;
  const maxEntries = deps.maxEntries ?? 100_000;
  const known = new Map<string, number>();

  return {
    async isMember(roomId, userId) {
      const key = `${roomId}:${userId}`;
      const until = known.get(key);
      if (until !== undefined && until > Date.now()) return true;
      if (!(await deps.lookup(roomId, userId))) {
        known.delete(key);
        return false;
      }
      if (known.size >= maxEntries) known.clear();
      known.set(key, Date.now() + ttlMs);
      return true;
    },
  };
}
