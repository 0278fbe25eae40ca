import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../../src/errors.js';
import { handleAck } from '../../../../src/realtime/session/ack-handlers.js';
import { connectToken, handleConnect } from '../../../../src/realtime/session/connect-handler.js';
import { handleDisconnect } from '../../../../src/realtime/session/disconnect-handler.js';
import { FatalStompError } from '../../../../src/realtime/session/error-policy.js';
import { handleSend } from '../../../../src/realtime/session/send-handler.js';
import { handleSubscribe, handleUnsubscribe } from '../../../../src/realtime/session/subscription-handlers.js';
import { renewToken } from '../../../../src/realtime/session/token-renewal.js';
import type { StompFrame } from '../../../../src/stomp/index.js';
import { ALICE, GOOD_TOKEN } from '../session-harness.js';
import { fakeContext } from './fake-context.js';

const frameOf = (command: string, headers: Record<string, string> = {}, body = ''): StompFrame => ({
  command,
  headers: Object.entries(headers),
  body: Buffer.from(body),
});

describe('CONNECT handler', () => {
  it.each([
    ['Authorization wins over passcode and the query', { Authorization: 'Bearer a', passcode: 'b' }, 'q', 'a'],
    ['a Bearer passcode', { passcode: 'Bearer b' }, 'q', 'b'],
    ['a bare passcode', { passcode: 'b' }, 'q', 'b'],
    ['the query parameter last', {}, 'q', 'q'],
    ['nothing', {}, undefined, undefined],
  ])('should take the token from %s', (_label, headers, query, token) => {
    expect(connectToken(frameOf('CONNECT', headers), query)).toBe(token);
  });

  it("should establish the session with the negotiated heart-beats and the token's expiry, then write CONNECTED", async () => {
    const { ctx, written, record } = fakeContext({ state: 'awaiting-connect' });
    await handleConnect(
      ctx,
      frameOf('CONNECT', { 'accept-version': '1.1,1.2', 'heart-beat': '500,20000', Authorization: `Bearer ${GOOD_TOKEN}` }),
    );
    expect(record.version).toBe('1.2');
    expect(record.established).toEqual({ user: ALICE, heartbeat: { sendEveryMs: 20_000, expectEveryMs: 1_000 }, expiresAt: 1_000_000 });
    expect(written).toEqual([
      {
        command: 'CONNECTED',
        headers: { version: '1.2', 'heart-beat': '20000,1000', server: 'chat-backend/test', session: 'session-1', 'user-name': '42' },
        body: undefined,
      },
    ]);
  });

  it('should refuse a bad token with a policy close and write nothing itself', async () => {
    const { ctx, written } = fakeContext({ state: 'awaiting-connect' });
    await expect(handleConnect(ctx, frameOf('CONNECT', { Authorization: 'Bearer nope' }))).rejects.toMatchObject({
      message: 'Invalid token',
      closeCode: 1008,
    });
    expect(written).toEqual([]);
  });

  it('should write no CONNECTED when the connection was refused while the token was checked', async () => {
    const { ctx, written, setState } = fakeContext({
      state: 'awaiting-connect',
      services: {
        authenticate: async () => {
          setState('closed');
          return ALICE;
        },
      },
    });
    await handleConnect(ctx, frameOf('CONNECT', { passcode: GOOD_TOKEN }));
    expect(written).toEqual([]);
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE handlers', () => {
  it('should register the subscription, and its RECEIPT only once the destination is confirmed', async () => {
    let confirm!: () => void;
    const { ctx, receipts } = fakeContext({ services: { subscribed: () => new Promise<void>((resolve) => (confirm = resolve)) } });
    const handled = handleSubscribe(ctx, frameOf('SUBSCRIBE', { id: 's', destination: '/topic/room.3', receipt: 'r' }));
    await vi.waitFor(() => expect(ctx.registry.subscriberCount('/topic/room.3')).toBe(1));
    expect(receipts).toEqual([]);
    confirm();
    await handled;
    expect(receipts).toEqual([{ receipt: 'r' }]);
  });

  it('should undo an unconfirmed subscription and hand the refusal to the error policy', async () => {
    const unconfirmed = new AppError('UNAVAILABLE', 'subscription not confirmed in time; subscribe again');
    const { ctx, receipts, rejections } = fakeContext({ services: { subscribed: async () => Promise.reject(unconfirmed) } });
    await handleSubscribe(ctx, frameOf('SUBSCRIBE', { id: 's', destination: '/topic/room.3', receipt: 'r', ack: 'client' }));
    expect(ctx.registry.subscriberCount('/topic/room.3')).toBe(0);
    expect(ctx.acks.tracks('s')).toBe(false);
    expect(receipts).toEqual([]);
    expect(rejections).toEqual([{ error: unconfirmed, ref: { receipt: 'r', destination: '/topic/room.3' } }]);
  });

  it('should track acknowledgements of an ack:client-individual subscription until UNSUBSCRIBE', async () => {
    const { ctx } = fakeContext();
    await handleSubscribe(ctx, frameOf('SUBSCRIBE', { id: 's', destination: '/topic/presence', ack: 'client-individual' }));
    expect(ctx.acks.tracks('s')).toBe(true);
    handleUnsubscribe(ctx, frameOf('UNSUBSCRIBE', { id: 's' }));
    expect(ctx.acks.tracks('s')).toBe(false);
    expect(ctx.registry.destinations()).toEqual([]);
  });

  it('should refuse a SUBSCRIBE the user may not make with a policy close', async () => {
    const { ctx } = fakeContext({
      services: { authorizeSubscribe: async () => Promise.reject(new AppError('FORBIDDEN', 'not a member of room 3')) },
    });
    await expect(handleSubscribe(ctx, frameOf('SUBSCRIBE', { id: 's', destination: '/topic/room.3' }))).rejects.toMatchObject({
      message: 'not a member of room 3',
      closeCode: 1008,
    });
  });
});

describe('SEND handler', () => {
  it('should track an accepted SEND and answer it with its RECEIPT once durable', async () => {
    const { ctx, sends, receipts, record } = fakeContext();
    await handleSend(ctx, frameOf('SEND', { destination: '/app/chat.send', receipt: 's-1' }, '{}'));
    expect(ctx.sends.size).toBe(1);
    expect(record.reserved).toBeGreaterThan(0);
    sends[0]!.resolve();
    await ctx.sends.settled();
    expect(receipts).toEqual([{ receipt: 's-1', extra: { 'message-key': 'k-1' } }]);
    expect(record.reserved).toBe(0);
  });

  it('should hand a SEND that fails after acceptance to the error policy, without a RECEIPT', async () => {
    const { ctx, sends, receipts, rejections } = fakeContext();
    await handleSend(ctx, frameOf('SEND', { destination: '/app/chat.send', receipt: 's-1' }, '{}'));
    const failure = new AppError('UNAVAILABLE', 'not stored');
    sends[0]!.reject(failure);
    await ctx.sends.settled();
    expect(receipts).toEqual([]);
    expect(rejections).toEqual([{ error: failure, ref: { receipt: 's-1', destination: '/app/chat.send' } }]);
  });

  it('should refuse a SEND once draining began, without handing it on', async () => {
    const { ctx, sends, rejections } = fakeContext({ draining: true });
    await handleSend(ctx, frameOf('SEND', { destination: '/app/chat.send' }, '{}'));
    expect(sends).toHaveLength(0);
    expect((rejections[0]!.error as AppError).code).toBe('UNAVAILABLE');
  });

  it('should route /app/token.refresh to the token renewal, not to the services', async () => {
    const { ctx, sends, receipts } = fakeContext();
    await handleSend(ctx, frameOf('SEND', { destination: '/app/token.refresh', Authorization: `Bearer ${GOOD_TOKEN}`, receipt: 'renew' }));
    expect(sends).toHaveLength(0);
    expect(receipts).toEqual([{ receipt: 'renew' }]);
  });
});

describe('token renewal', () => {
  it('should refuse a token of another user as fatal', async () => {
    const { ctx } = fakeContext({ services: { authenticate: async () => ({ userId: 7, email: 'b@x', nickname: 'b' }) } });
    await expect(renewToken(ctx, frameOf('SEND', { Authorization: 'Bearer other' }))).rejects.toBeInstanceOf(FatalStompError);
  });

  it('should hand a token that does not verify to the error policy', async () => {
    const { ctx, rejections } = fakeContext();
    await renewToken(ctx, frameOf('SEND', {}, JSON.stringify({ token: 'forged' })));
    expect((rejections[0]!.error as AppError).message).toBe('Invalid token');
  });
});

describe('ACK and NACK handler', () => {
  it('should answer a settled ACK with its RECEIPT', () => {
    const { ctx, receipts } = fakeContext();
    ctx.acks.open('s', 'client');
    const id = ctx.acks.issue('s');
    handleAck(ctx, frameOf('ACK', { id, receipt: 'a' }));
    expect(receipts).toEqual([{ receipt: 'a' }]);
    expect(ctx.acks.unacknowledged).toBe(0);
  });

  it('should throw a fatal error for an unknown id', () => {
    const { ctx } = fakeContext();
    ctx.acks.open('s', 'client');
    expect(() => handleAck(ctx, frameOf('NACK', { id: 'nope' }))).toThrow('unknown ack id');
  });
});

describe('DISCONNECT handler', () => {
  it('should answer the SENDs in flight first, then its RECEIPT, then close normally', async () => {
    const { ctx, sends, written, record } = fakeContext();
    await handleSend(ctx, frameOf('SEND', { destination: '/app/chat.send', receipt: 's-1' }, '{}'));
    const disconnected = handleDisconnect(ctx, frameOf('DISCONNECT', { receipt: 'bye' }));
    expect(ctx.state()).toBe('closing');
    sends[0]!.resolve();
    await disconnected;
    expect(written.map((frame) => frame.headers['receipt-id'])).toEqual(['bye']);
    expect(record.finished).toEqual({ code: 1000, reason: 'disconnect' });
  });
});
