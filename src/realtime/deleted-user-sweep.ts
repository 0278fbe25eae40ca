import type { Logger } from '../logger.js';

/**
 * Closes the sessions of users who no longer exist (an operator deleted them in the database).
 * Every `intervalMs` one query asks which of the connected users still exist; the sessions of
 * the others are revoked. A sweep rather than a trigger with LISTEN/NOTIFY: it needs no schema
 * change, sees a user gone however the row went (DELETE, TRUNCATE, a restore), and misses nothing
 * while a listening connection reconnects, which a NOTIFY-only design would; docs/stomp.md weighs it.
 */
export interface SweptSession {
  readonly user: { userId: number } | undefined;
  readonly isConnected: boolean;
  end(kind: 'user-deleted'): void;
}

export function createDeletedUserSweep<S extends SweptSession>(options: {
  sessions: () => Iterable<S>;
  /** The ids among `ids` that still exist. */
  existingIds: (ids: number[]) => Promise<number[]>;
  intervalMs: number;
  log: Logger;
  onRevoked?: (session: S) => void;
}) {
  let running: Promise<void> | undefined;

  async function sweep(): Promise<void> {
    const byUser = new Map<number, S[]>();
    for (const session of options.sessions()) {
      if (!session.isConnected || !session.user) continue;
      const list = byUser.get(session.user.userId) ?? [];
      list.push(session);
      byUser.set(session.user.userId, list);
    }
    if (byUser.size === 0) return;
    const existing = new Set(await options.existingIds([...byUser.keys()]));
    for (const [userId, sessions] of byUser) {
      if (existing.has(userId)) continue;
      options.log.info({ userId, sessions: sessions.length }, 'user no longer exists: closing its STOMP sessions');
      for (const session of sessions) {
        session.end('user-deleted');
        options.onRevoked?.(session);
      }
    }
  }

  const tick = () => {
    // One query at a time: a slow database must not pile sweeps up.
    if (running) return;
    running = sweep()
      .catch((error: unknown) => options.log.warn({ err: error }, 'deleted-user sweep failed; next tick retries'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    /** One sweep now (tests, and the first tick's wait). */
    sweep: async () => {
      tick();
      await running;
    },
    stop: () => clearInterval(timer),
  };
}
