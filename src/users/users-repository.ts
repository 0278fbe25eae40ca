import { and, asc, eq, gt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { users } from '../db/schema.js';

export interface PublicUser {
  id: number;
  email: string;
  nickname: string;
  status: 'ONLINE' | 'OFFLINE';
  lastSeenAt: Date | null;
  createdAt: Date;
}

const publicColumns = {
  id: users.id,
  email: users.email,
  nickname: users.nickname,
  status: users.status,
  lastSeenAt: users.lastSeenAt,
  createdAt: users.createdAt,
};

export function createUsersRepository(db: Database) {
  return {
    /** Returns null when the email is taken (the unique constraint decides, not a prior check). */
    async insert(user: { email: string; passwordHash: string; nickname: string }): Promise<PublicUser | null> {
      const rows = await db.insert(users).values(user).onConflictDoNothing({ target: users.email }).returning(publicColumns);
      return rows[0] ?? null;
    },

    async findCredentialsByEmail(email: string) {
      const rows = await db
        .select({ ...publicColumns, passwordHash: users.passwordHash })
        .from(users)
        .where(eq(users.email, email))
        .limit(1);
      return rows[0] ?? null;
    },

    async findById(id: number): Promise<PublicUser | null> {
      const rows = await db.select(publicColumns).from(users).where(eq(users.id, id)).limit(1);
      return rows[0] ?? null;
    },

    async findExistingIds(ids: number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await db
        .select({ id: users.id })
        .from(users)
        .where(sql`${users.id} = any(${sql.param(ids)}::bigint[])`);
      return rows.map((row) => row.id);
    },

    /** Prefix search on nickname or email, keyset-paged by id, never returning a password hash. */
    async search(options: { query: string; size: number; afterId?: number; excludeId?: number }): Promise<PublicUser[]> {
      const escaped = options.query.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`);
      const pattern = `${escaped}%`;
      // lower(nickname) LIKE 'prefix%' is what users_nickname_lower_idx (text_pattern_ops) serves;
      // emails are stored lower-cased, so the same lower-cased pattern matches them.
      const conditions = [
        options.query ? or(sql`lower(${users.nickname}) like ${pattern}`, sql`${users.email} like ${pattern}`) : undefined,
        options.afterId !== undefined ? gt(users.id, options.afterId) : undefined,
        options.excludeId !== undefined ? sql`${users.id} <> ${options.excludeId}` : undefined,
      ].filter((condition) => condition !== undefined);
      return db
        .select(publicColumns)
        .from(users)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(asc(users.id))
        .limit(options.size);
    },

    async setStatus(id: number, status: 'ONLINE' | 'OFFLINE', at: Date): Promise<void> {
      await db.update(users).set({ status, lastSeenAt: at }).where(eq(users.id, id));
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
