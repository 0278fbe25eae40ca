import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createDeletedUserSweep } from '../../../src/realtime/deleted-user-sweep.js';

class Session {
  revoked: string[] = [];
  constructor(
    readonly user: { userId: number } | undefined,
    readonly isConnected = true,
  ) {}
  end(kind: string): void {
    this.revoked.push(kind);
  }
}

describe('deleted-user sweep', () => {
  it('should revoke every session of a user that no longer exists, and only those, asking once per user', async () => {
    const sessions = [
      new Session({ userId: 1 }),
      new Session({ userId: 2 }),
      new Session({ userId: 2 }),
      new Session({ userId: 3 }, false),
      new Session(undefined, false),
    ];
    const asked: number[][] = [];
    const sweep = createDeletedUserSweep({
      sessions: () => sessions,
      existingIds: async (ids) => {
        asked.push(ids);
        return ids.filter((id) => id !== 2);
      },
      intervalMs: 60_000,
      log: pino({ level: 'silent' }),
    });
    await sweep.sweep();
    sweep.stop();
    expect(asked).toEqual([[1, 2]]);
    expect(sessions.map((session) => session.revoked)).toEqual([[], ['user-deleted'], ['user-deleted'], [], []]);
  });

  it('should leave every session alone when the database cannot answer, and ask nothing without sessions', async () => {
    const sessions = [new Session({ userId: 1 })];
    let asked = 0;
    const sweep = createDeletedUserSweep({
      sessions: () => sessions,
      existingIds: async () => {
        asked += 1;
        throw new Error('connection refused');
      },
      intervalMs: 60_000,
      log: pino({ level: 'silent' }),
    });
    await sweep.sweep();
    expect(sessions[0]!.revoked).toEqual([]);
    sessions.length = 0;
    await sweep.sweep();
    sweep.stop();
    expect(asked).toBe(1);
  });
});
