import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createCommitTracker, type CommitOffset } from '../../../src/kafka/commit-tracker.js';

const tp = (partition: number) => ({ topic: 't', partition });

function tracker(options: { failCommits?: number } = {}) {
  const commits: CommitOffset[][] = [];
  let failures = options.failCommits ?? 0;
  const instance = createCommitTracker({
    commit: async (offsets) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('coordinator busy');
      }
      commits.push(offsets);
    },
    intervalMs: 10_000,
    log: pino({ level: 'silent' }),
    sleep: async () => {},
  });
  return { tracker: instance, commits };
}

describe('commit tracker', () => {
  it('should commit a partition up to the oldest record still in hand, and past it once it is done', async () => {
    const { tracker: t, commits } = tracker();
    t.assign([tp(0)]);
    t.begin(tp(0), '0', '4')!.done();
    const hold = t.hold(tp(0), '2')!;
    t.begin(tp(0), '5', '9')!.done();

    await t.flush();
    hold.release();
    await t.flush();

    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '2' }], [{ topic: 't', partition: 0, offset: '10' }]]);
  });

  it('should commit nothing for a batch abandoned before anything was finished', async () => {
    const { tracker: t, commits } = tracker();
    t.assign([tp(1)]);
    t.begin(tp(1), '20', '29')!.abandon();

    await t.flush();

    expect(commits).toEqual([]);
  });

  it('should not commit past an abandoned batch that follows finished ones', async () => {
    const { tracker: t, commits } = tracker();
    t.assign([tp(1)]);
    t.begin(tp(1), '0', '9')!.done();
    t.begin(tp(1), '10', '19')!.abandon();

    await t.flush();

    expect(commits).toEqual([[{ topic: 't', partition: 1, offset: '10' }]]);
  });

  it('should refuse work for a partition it does not own, and forget a revoked one after committing it', async () => {
    const { tracker: t, commits } = tracker();
    t.assign([tp(0), tp(1)]);
    expect(t.begin(tp(7), '0', '0')).toBeUndefined();
    t.begin(tp(1), '0', '2')!.done();
    const hold = t.hold(tp(1), '3')!;

    await t.revoke([tp(1)]);

    expect(commits).toEqual([[{ topic: 't', partition: 1, offset: '3' }]]);
    expect(hold.signal.aborted).toBe(true);
    expect(hold.current).toBe(false);
    expect(t.begin(tp(1), '3', '3')).toBeUndefined();
    expect(t.assignment()).toEqual([tp(0)]);
    hold.release();
    await t.flush();
    expect(commits).toHaveLength(1);
  });

  it('should tell a batch in hand that its partition is leaving while a revocation waits for it', async () => {
    const { tracker: t, commits } = tracker();
    t.assign([tp(2)]);
    const work = t.begin(tp(2), '5', '6')!;
    expect(work.leaving).toBe(false);

    const revoking = t.revoke([tp(2)]);
    expect(work.leaving).toBe(true);
    work.done();
    await revoking;

    expect(commits).toEqual([[{ topic: 't', partition: 2, offset: '7' }]]);
  });

  it('should try a failed commit again and keep the offsets for the next commit when it gives up', async () => {
    const { tracker: t, commits } = tracker({ failCommits: 5 });
    t.assign([tp(0)]);
    t.begin(tp(0), '0', '0')!.done();

    await t.flush();
    expect(commits).toEqual([]);
    t.begin(tp(0), '1', '1')!.done();
    await t.flush();

    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '2' }]]);
  });

  it('should take no work once closed, and commit what finished before', async () => {
    const { tracker: t, commits } = tracker();
    t.assign([tp(0)]);
    t.begin(tp(0), '0', '1')!.done();

    await t.close(1_000);

    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '2' }]]);
    expect(t.begin(tp(0), '2', '2')).toBeUndefined();
    expect(t.hold(tp(0), '2')).toBeUndefined();
  });
});
