import { describe, expect, it } from 'vitest';
import { header } from '../../../src/stomp/index.js';
import { connected, expectFatal, frame } from './session-harness.js';

async function subscribedWith(ack: string | undefined, limits = {}) {
  const h = await connected({ limits });
  await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', ...(ack ? { ack } : {}) }));
  const deliver = (count: number) => {
    for (let index = 0; index < count; index += 1) h.registry.deliver('/topic/room.1', Buffer.from(`{"n":${index}}`));
    return h.socket.frames.filter((f) => f.command === 'MESSAGE').slice(-count);
  };
  return { ...h, deliver };
}

const receipts = (h: Awaited<ReturnType<typeof subscribedWith>>) =>
  h.socket.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id'));

describe('StompSession acknowledgement modes', () => {
  it('should put no ack header on MESSAGEs of an auto subscription', async () => {
    const h = await subscribedWith(undefined);
    const [message] = h.deliver(1);
    expect(header(message!, 'ack')).toBeUndefined();
  });

  it.each(['client', 'client-individual'])(
    'should give every MESSAGE of an ack:%s subscription its own ack id, also as its message-id',
    async (mode) => {
      const h = await subscribedWith(mode);
      const messages = h.deliver(3);
      const ids = messages.map((message) => header(message, 'ack'));
      expect(new Set(ids).size).toBe(3);
      for (const message of messages) expect(header(message, 'message-id')).toBe(header(message, 'ack'));
    },
  );

  it('should settle every earlier message with one ACK on an ack:client subscription', async () => {
    const h = await subscribedWith('client');
    const ids = h.deliver(3).map((message) => header(message, 'ack')!);
    await h.push(frame('ACK', { id: ids[2]!, receipt: 'a-3' }));
    // Cumulative: the earlier ones are settled too, so acknowledging them again changes nothing.
    await h.push(frame('ACK', { id: ids[0]!, receipt: 'a-1' }));
    expect(receipts(h)).toEqual(['a-3', 'a-1']);
    expect(h.socket.closedWith).toBeUndefined();
  });

  it('should settle only the named message with an ACK or NACK on an ack:client-individual subscription', async () => {
    const h = await subscribedWith('client-individual');
    const ids = h.deliver(3).map((message) => header(message, 'ack')!);
    await h.push(
      frame('NACK', { id: ids[1]!, receipt: 'n-2' }),
      frame('ACK', { id: ids[0]!, receipt: 'a-1' }),
      frame('ACK', { id: ids[2]!, receipt: 'a-3' }),
    );
    expect(receipts(h)).toEqual(['n-2', 'a-1', 'a-3']);
    expect(h.socket.closedWith).toBeUndefined();
  });

  it('should refuse an ACK naming a message never sent on this connection with ERROR', async () => {
    const h = await subscribedWith('client');
    h.deliver(1);
    await h.push(frame('ACK', { id: 'made-up-1', receipt: 'a-x' }));
    const error = expectFatal(h.socket, 'unknown ack id', 1002);
    expect(header(error, 'receipt-id')).toBe('a-x');
    expect(h.rejected).toContain('unknown-ack-id');
  });

  it('should refuse an ACK or NACK without an id with ERROR', async () => {
    const h = await subscribedWith('client');
    await h.push(frame('NACK', { subscription: 'sub-0' }));
    expectFatal(h.socket, 'NACK requires an id header');
  });

  it("should take the message-id header as the id of a 1.1 client's ACK", async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', ack: 'client-individual' }));
    h.registry.deliver('/topic/room.1', Buffer.from('{}'));
    const messageId = header(h.socket.last('MESSAGE'), 'message-id')!;
    await h.push(frame('ACK', { 'message-id': messageId, subscription: 'sub-0', receipt: 'a-1' }));
    expect(h.socket.commands().at(-1)).toBe('RECEIPT');
  });

  it("should accept ACKs on a connection or subscription without client acknowledgement, as Spring's broker did", async () => {
    const h = await subscribedWith(undefined);
    h.deliver(1);
    await h.push(frame('ACK', { id: 'undefined', subscription: 'sub-0', receipt: 'a-1' }));
    await h.push(frame('SUBSCRIBE', { id: 'sub-1', destination: '/topic/presence', ack: 'client' }));
    await h.push(frame('ACK', { id: 'undefined', subscription: 'sub-0', receipt: 'a-2' }));
    expect(receipts(h)).toEqual(['a-1', 'a-2']);
    expect(h.socket.closedWith).toBeUndefined();
  });

  it('should keep serving a client that never acknowledges, remembering at most the bound', async () => {
    const h = await subscribedWith('client', { maxUnackedPerSubscription: 5 });
    const ids = h.deliver(20).map((message) => header(message, 'ack')!);
    expect(h.socket.closedWith).toBeUndefined();
    // Forgotten past the bound: a late ACK of it settles nothing, and is no error.
    await h.push(frame('ACK', { id: ids[0]!, receipt: 'late' }));
    expect(receipts(h)).toEqual(['late']);
  });

  it('should refuse an ack mode the spec does not define with ERROR', async () => {
    const h = await connected();
    await h.push(frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/room.1', ack: 'manual' }));
    expectFatal(h.socket, 'unknown ack mode');
    expect(h.registry.destinations()).toEqual([]);
  });
});
