import { describe, expect, it, vi } from 'vitest';
import { header } from '../../../src/stomp/index.js';
import { connected, expectFatal, frame } from './session-harness.js';

const LIMITS = { maxPendingFrames: 16, readPauseBytes: 2_000, readResumeBytes: 500, maxInboundBytes: 8_000 };
/** Resolves every SEND in flight, again and again, until `count` SENDs have been handed on. */
async function kafkaAcknowledgesUntil(h: Awaited<ReturnType<typeof connected>>, count: number): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const pending of h.sends) pending.durable.resolve();
      await h.session.framesHandled();
      expect(h.sends).toHaveLength(count);
    },
    { timeout: 5_000, interval: 5 },
  );
  for (const pending of h.sends) pending.durable.resolve();
}

const send = (receipt: string, body = 'x'.repeat(300)) => frame('SEND', { destination: '/app/chat.send', receipt }, body);

describe('StompSession back-pressure', () => {
  it('should stop reading while its SENDs wait for Kafka, hold what still arrives, and answer every one once they drain', async () => {
    const h = await connected({ limits: LIMITS });
    for (let index = 1; index <= 12; index += 1) h.session.receive(send(`s-${index}`));
    await h.session.framesHandled();
    expect(h.socket.paused).toBe(true);
    expect(h.session.inbound.paused).toBe(true);
    const handedOn = h.sends.length;
    expect(handedOn).toBeLessThan(12);

    // Kafka acknowledges whatever is in flight; the held messages are then parsed and handed on, in order.
    await kafkaAcknowledgesUntil(h, 12);
    await vi.waitFor(() => expect(h.socket.commands().filter((command) => command === 'RECEIPT')).toHaveLength(12));
    const receipts = h.socket.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id'));
    expect(receipts).toEqual(Array.from({ length: 12 }, (_, index) => `s-${index + 1}`));
    expect(h.sends.map((s) => s.body.length)).toEqual(Array(12).fill(300));
    expect(h.socket.paused).toBe(false);
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.session.inbound.peakBytes).toBeLessThanOrEqual(LIMITS.maxInboundBytes);
  });

  it('should refuse, not drop, what passes the hard byte limit while reading is paused', async () => {
    const h = await connected({ limits: LIMITS });
    for (let index = 1; index <= 40 && !h.socket.closedWith; index += 1) h.session.receive(send(`s-${index}`));
    expectFatal(h.socket, 'too many frames in flight', 1002);
    expect(h.socket.last('ERROR').body.toString()).toContain('8000 bytes');
    expect(h.rejected).toContain('too-many-pending-frames');
    // Closing reads the socket again, so the WebSocket close handshake can complete.
    expect(h.socket.paused).toBe(false);
  });

  it('should keep a frame split across a pause whole', async () => {
    const h = await connected({ limits: LIMITS });
    for (let index = 1; index <= 5; index += 1) h.session.receive(send(`s-${index}`));
    await h.session.framesHandled();
    expect(h.socket.paused).toBe(true);
    const split = send('split', 'y'.repeat(200));
    h.session.receive(split.subarray(0, 50));
    h.session.receive(split.subarray(50));
    await kafkaAcknowledgesUntil(h, 6);
    expect(h.sends.at(-1)!.body).toBe('y'.repeat(200));
    await vi.waitFor(() => expect(h.socket.commands().filter((command) => command === 'RECEIPT')).toHaveLength(6));
    expect(h.socket.closedWith).toBeUndefined();
  });
});
