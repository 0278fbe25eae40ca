import { describe, expect, it } from 'vitest';
import { formatHeartbeat, negotiateHeartbeat, parseHeartbeat } from '../../../src/stomp/heartbeat.js';

describe('parseHeartbeat', () => {
  it('treats a missing header as 0,0', () => {
    expect(parseHeartbeat(undefined)).toEqual({ outgoingMs: 0, incomingMs: 0 });
  });

  it.each([
    ['0,0', 0, 0],
    ['10000,10000', 10000, 10000],
    ['0,5000', 0, 5000],
    ['007,1', 7, 1],
    ['2147483647,0', 2147483647, 0],
  ])('reads %j', (value, outgoingMs, incomingMs) => {
    expect(parseHeartbeat(value)).toEqual({ outgoingMs, incomingMs });
    expect(formatHeartbeat(parseHeartbeat(value))).toBe(`${outgoingMs},${incomingMs}`);
  });

  it.each(['', '1000', '1000,', ',1000', '1000, 1000', ' 1000,1000', '-1,0', '1.5,0', 'a,b', '1,2,3', '2147483648,0'])(
    'rejects %j as bad-heart-beat',
    (value) => {
      expect(() => parseHeartbeat(value)).toThrow(expect.objectContaining({ code: 'bad-heart-beat' }));
    },
  );
});

describe('negotiateHeartbeat', () => {
  // client cx,cy | server sx,sy | server sends every | server expects every
  it.each([
    ['0,0', '10000,10000', 0, 0],
    ['10000,10000', '0,0', 0, 0],
    ['10000,10000', '10000,10000', 10000, 10000],
    ['4000,20000', '10000,10000', 20000, 10000],
    ['20000,4000', '10000,10000', 10000, 20000],
    ['0,10000', '10000,10000', 10000, 0],
    ['10000,0', '10000,10000', 0, 10000],
    ['100,100', '0,0', 0, 0],
    ['100,100', '100,100', 1000, 1000],
    ['1,1', '500,500', 1000, 1000],
    ['1500,1500', '1000,1000', 1500, 1500],
  ])('client %s with server %s → send every %i ms, expect every %i ms', (client, server, sendMs, expectMs) => {
    const negotiated = negotiateHeartbeat(parseHeartbeat(client), parseHeartbeat(server));
    expect(negotiated).toEqual({ sendEveryMs: sendMs, expectEveryMs: expectMs, header: `${sendMs},${expectMs}` });
  });

  it('uses the given floor', () => {
    expect(negotiateHeartbeat(parseHeartbeat('100,100'), parseHeartbeat('50,50'), { floorMs: 200 })).toMatchObject({
      sendEveryMs: 200,
      expectEveryMs: 200,
    });
  });

  it('returns a CONNECTED header from which the client computes the same intervals', () => {
    for (const client of ['0,0', '100,0', '0,100', '4000,20000', '20000,4000', '1,1']) {
      const cx = parseHeartbeat(client);
      const negotiated = negotiateHeartbeat(cx, { outgoingMs: 5000, incomingMs: 5000 });
      const sx = parseHeartbeat(negotiated.header);
      // The client's view, per the spec: it sends every MAX(cx, sy) and expects every MAX(sx, cy).
      const clientSends = cx.outgoingMs === 0 || sx.incomingMs === 0 ? 0 : Math.max(cx.outgoingMs, sx.incomingMs);
      const clientExpects = sx.outgoingMs === 0 || cx.incomingMs === 0 ? 0 : Math.max(sx.outgoingMs, cx.incomingMs);
      expect([clientSends, clientExpects]).toEqual([negotiated.expectEveryMs, negotiated.sendEveryMs]);
    }
  });
});
