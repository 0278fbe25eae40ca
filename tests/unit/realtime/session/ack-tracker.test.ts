import { describe, expect, it } from 'vitest';
import { AckTracker, parseAckMode } from '../../../../src/realtime/session/ack-tracker.js';

describe('ack mode', () => {
  it.each([
    [undefined, 'auto'],
    ['auto', 'auto'],
    ['client', 'client'],
    ['client-individual', 'client-individual'],
    ['CLIENT', undefined],
    ['individual', undefined],
  ])('should read ack %j as %j', (value, mode) => {
    expect(parseAckMode(value)).toBe(mode);
  });
});

describe('ack tracker', () => {
  it('should issue ids scoped to the connection, increasing', () => {
    const acks = new AckTracker('t1', 10);
    acks.open('s', 'client');
    expect([acks.issue('s'), acks.issue('s')]).toEqual(['t1-1', 't1-2']);
    expect(acks.unacknowledged).toBe(2);
  });

  it('should settle cumulatively on a client subscription', () => {
    const acks = new AckTracker('t', 10);
    acks.open('s', 'client');
    const ids = [acks.issue('s'), acks.issue('s'), acks.issue('s')];
    expect(acks.settle(ids[1]!, undefined)).toEqual({ outcome: 'settled', count: 2 });
    expect(acks.unacknowledged).toBe(1);
    expect(acks.settle(ids[0]!, undefined)).toEqual({ outcome: 'stale' });
  });

  it('should settle one message at a time on a client-individual subscription', () => {
    const acks = new AckTracker('t', 10);
    acks.open('s', 'client-individual');
    const ids = [acks.issue('s'), acks.issue('s'), acks.issue('s')];
    expect(acks.settle(ids[2]!, 's')).toEqual({ outcome: 'settled', count: 1 });
    expect(acks.unacknowledged).toBe(2);
    expect(acks.settle(ids[0]!, 's')).toEqual({ outcome: 'settled', count: 1 });
  });

  it('should keep cumulative settling within the subscription the id belongs to', () => {
    const acks = new AckTracker('t', 10);
    acks.open('a', 'client');
    acks.open('b', 'client');
    acks.issue('a');
    acks.issue('b');
    const last = acks.issue('a');
    expect(acks.settle(last, undefined)).toEqual({ outcome: 'settled', count: 2 });
    expect(acks.unacknowledged).toBe(1);
  });

  it('should forget the oldest unacknowledged message past the bound, and not fail a late ACK of it', () => {
    const acks = new AckTracker('t', 3);
    acks.open('s', 'client-individual');
    const ids = Array.from({ length: 5 }, () => acks.issue('s'));
    expect(acks.unacknowledged).toBe(3);
    expect(acks.forgotten).toBe(2);
    expect(acks.settle(ids[0]!, 's')).toEqual({ outcome: 'stale' });
    expect(acks.settle(ids[4]!, 's')).toEqual({ outcome: 'settled', count: 1 });
  });

  it('should call an id never issued on this connection unknown', () => {
    const acks = new AckTracker('t', 10);
    acks.open('s', 'client');
    acks.issue('s');
    for (const id of ['t-2', 'other-1', 'message-1', 't-0', 't-01', 'undefined', '']) {
      expect(acks.settle(id, undefined), id).toEqual({ outcome: 'unknown' });
    }
  });

  it('should leave ACKs alone when the connection has no client-acknowledged subscription, or names an auto one', () => {
    const acks = new AckTracker('t', 10);
    expect(acks.settle('m-1', undefined)).toEqual({ outcome: 'not-tracked' });
    acks.open('s', 'client');
    expect(acks.settle('m-1', 'auto-sub')).toEqual({ outcome: 'not-tracked' });
    expect(acks.settle('m-1', 's')).toEqual({ outcome: 'unknown' });
  });

  it("should forget a closed subscription's messages, whose ids then settle nothing", () => {
    const acks = new AckTracker('t', 10);
    acks.open('s', 'client');
    const id = acks.issue('s');
    acks.close('s');
    expect(acks.unacknowledged).toBe(0);
    expect(acks.tracks('s')).toBe(false);
    expect(acks.settle(id, undefined)).toEqual({ outcome: 'stale' });
  });
});
