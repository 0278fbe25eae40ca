import { describe, expect, it, vi } from 'vitest';
import { AppError, unauthorized } from '../../../src/errors.js';
import { header } from '../../../src/stomp/index.js';
import { ALICE, connected, connectFrame, deferred, expectFatal, frame, GOOD_TOKEN, harness } from './session-harness.js';

const T0 = 1_700_000_000_000;
const FRESH_TOKEN = 'fresh-token';
const BOB_TOKEN = 'bob-token';

/** A session whose token expires 5 s after CONNECT, on a clock the test moves. */
async function expiring() {
  let now = T0;
  const h = harness({
    now: () => now,
    authenticate: async (token) => {
      if (token === GOOD_TOKEN) return { ...ALICE, expiresAt: T0 + 5_000 };
      if (token === FRESH_TOKEN) return { ...ALICE, expiresAt: T0 + 60_000 };
      if (token === BOB_TOKEN) return { userId: 7, email: 'bob@example.com', nickname: 'bob', expiresAt: T0 + 60_000 };
      throw unauthorized('Token expired');
    },
  });
  await h.push(connectFrame({ 'heart-beat': '0,0' }));
  return { ...h, advance: (ms: number) => (now += ms) };
}

const refresh = (headers: Record<string, string>, body?: string) => frame('SEND', { destination: '/app/token.refresh', ...headers }, body);

describe('StompSession token lifetime', () => {
  it('should end the session with ERROR "token expired" when its token expires', async () => {
    const h = await expiring();
    h.advance(5_000);
    h.session.end('token-expired');
    await vi.waitFor(() => expect(h.socket.closedWith).toBeDefined());
    expectFatal(h.socket, 'token expired', 1008);
    expect(h.rejected).toContain('token-expired');
    expect(h.registry.destinations()).toEqual([]);
  });

  it('should not handle a frame that arrives after the token expired', async () => {
    const h = await expiring();
    h.advance(5_001);
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'too late'));
    await vi.waitFor(() => expect(h.socket.closedWith).toBeDefined());
    expectFatal(h.socket, 'token expired', 1008);
    expect(h.sends).toHaveLength(0);
  });

  it('should answer the SENDs in flight at expiry before the ERROR', async () => {
    const h = await expiring();
    await h.push(frame('SEND', { destination: '/app/chat.send', receipt: 's-1' }, 'in time'));
    h.advance(5_000);
    h.session.end('token-expired');
    h.sends[0]!.durable.resolve();
    await vi.waitFor(() => expect(h.socket.closedWith).toBeDefined());
    expect(h.socket.commands()).toEqual(['CONNECTED', 'RECEIPT', 'ERROR']);
  });

  it.each([
    ['an Authorization header', { Authorization: `Bearer ${FRESH_TOKEN}` }, undefined],
    ['a lower-case authorization header', { authorization: `bearer ${FRESH_TOKEN}` }, undefined],
    ['a JSON body', {}, JSON.stringify({ token: FRESH_TOKEN })],
  ])('should renew the token from %s and answer with a RECEIPT', async (_label, headers, body) => {
    const h = await expiring();
    await h.push(refresh({ ...headers, receipt: 'renewed' }, body));
    expect(header(h.socket.last('RECEIPT'), 'receipt-id')).toBe('renewed');
    h.advance(10_000);
    expect(h.session.liveness.tokenExpired(T0 + 10_000)).toBe(false);
    expect(h.session.liveness.tokenExpired(T0 + 60_000)).toBe(true);
    expect(h.sends).toHaveLength(0);
  });

  it('should end the session when the renewal token belongs to another user', async () => {
    const h = await expiring();
    await h.push(refresh({ Authorization: `Bearer ${BOB_TOKEN}`, receipt: 'r' }));
    const error = expectFatal(h.socket, 'token belongs to another user', 1008);
    expect(header(error, 'receipt-id')).toBe('r');
  });

  it('should report a renewal token that does not verify and keep the current one', async () => {
    const h = await expiring();
    await h.push(frame('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }));
    await h.push(refresh({ Authorization: 'Bearer stale', receipt: 'r' }));
    expect(JSON.parse(h.socket.last('MESSAGE').body.toString())).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'Token expired',
      receiptId: 'r',
    });
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.session.liveness.tokenExpired(T0 + 5_000)).toBe(true);
  });

  it('should refuse a renewal that carries no token', async () => {
    const h = await expiring();
    await h.push(refresh({ receipt: 'r' }, 'not json'));
    expectFatal(h.socket, /token refresh needs Authorization/);
  });

  it('should end a revoked session (its user was deleted) with ERROR and a policy close', async () => {
    const h = await connected();
    h.session.end('user-deleted');
    await vi.waitFor(() => expect(h.socket.closedWith).toBeDefined());
    expectFatal(h.socket, 'User no longer exists', 1008);
  });
});

describe('StompSession SUBSCRIBE not confirmed', () => {
  it('should answer an unconfirmed SUBSCRIBE with an error instead of its RECEIPT, and undo the subscription', async () => {
    const h = await connected({
      subscribed: async () => Promise.reject(new AppError('UNAVAILABLE', 'subscription not confirmed in time; subscribe again')),
    });
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', receipt: 'r-1' }));
    const error = expectFatal(h.socket, 'subscription not confirmed in time; subscribe again', 1002);
    expect(header(error, 'receipt-id')).toBe('r-1');
    expect(h.socket.commands()).not.toContain('RECEIPT');
    expect(h.registry.subscriberCount('/topic/room.1')).toBe(0);
  });

  it('should report it on /user/queue/errors and keep the session when subscribed there', async () => {
    const confirmed = deferred();
    let calls = 0;
    const h = await connected({
      subscribed: async (destination) => {
        calls += 1;
        if (destination.kind === 'room') throw new AppError('UNAVAILABLE', 'subscription not confirmed in time; subscribe again');
        return confirmed.promise;
      },
    });
    confirmed.resolve();
    await h.push(frame('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }));
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', receipt: 'r-1' }));
    expect(JSON.parse(h.socket.last('MESSAGE').body.toString())).toMatchObject({
      code: 'UNAVAILABLE',
      destination: '/topic/room.1',
      receiptId: 'r-1',
    });
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.registry.subscriberCount('/topic/room.1')).toBe(0);
    // The id is free again: the client may simply subscribe again.
    expect(calls).toBe(2);
  });
});
