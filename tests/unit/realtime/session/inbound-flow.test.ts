import { describe, expect, it } from 'vitest';
import {
  FRAME_OVERHEAD_BYTES,
  frameCost,
  HELD_MESSAGE_OVERHEAD_BYTES,
  InboundFlow,
} from '../../../../src/realtime/session/inbound-flow.js';

const LIMITS = { maxPendingFrames: 16, maxInboundBytes: 10_000, readPauseBytes: 4_000, readResumeBytes: 1_000 };

function flow(limits = LIMITS) {
  const events: string[] = [];
  const parsed: string[] = [];
  const control = {
    pause: () => events.push('pause'),
    resume: () => events.push('resume'),
    parse: (chunk: Buffer) => parsed.push(chunk.toString()),
  };
  return { flow: new InboundFlow(limits, control), events, parsed };
}

describe('inbound flow', () => {
  it('should cost a frame its bytes plus a fixed overhead', () => {
    const cost = frameCost({ command: 'SEND', headers: [['destination', '/app/chat.send']], body: Buffer.alloc(100) });
    expect(cost).toBe(FRAME_OVERHEAD_BYTES + 4 + 11 + 14 + 100);
  });

  it('should parse messages at once while under the pause mark', () => {
    const { flow: inbound, events } = flow();
    expect(inbound.admit(Buffer.from('x'))).toBe('parse');
    expect(inbound.enqueue(1_000)).toBe(true);
    expect(inbound.isPaused).toBe(false);
    expect(events).toEqual([]);
  });

  it('should stop reading past the byte mark and hold what still arrives, unparsed', () => {
    const { flow: inbound, events, parsed } = flow();
    inbound.enqueue(2_500);
    inbound.enqueue(2_500);
    expect(events).toEqual(['pause']);
    expect(inbound.admit(Buffer.from('held-1'))).toBe('held');
    expect(inbound.admit(Buffer.from('held-2'))).toBe('held');
    expect(parsed).toEqual([]);
    expect(inbound.heldBytes).toBe(5_000 + 2 * (6 + HELD_MESSAGE_OVERHEAD_BYTES));
  });

  it('should stop reading at a quarter of the frame limit', () => {
    const { flow: inbound, events } = flow();
    for (let index = 0; index < 3; index += 1) inbound.enqueue(10);
    expect(events).toEqual([]);
    inbound.enqueue(10);
    expect(events).toEqual(['pause']);
  });

  it('should parse held messages in order once no frame waits, then read the socket again', () => {
    const { flow: inbound, events, parsed } = flow();
    inbound.enqueue(4_000);
    inbound.admit(Buffer.from('a'));
    inbound.admit(Buffer.from('b'));
    expect(parsed).toEqual([]);
    // Neither message yields a frame here (say, heart-beats), so both go through, then reading resumes.
    inbound.dequeue(4_000);
    expect(parsed).toEqual(['a', 'b']);
    expect(events).toEqual(['pause', 'resume']);
    expect(inbound.heldBytes).toBe(0);
  });

  it('should keep later messages behind a held message whose frames are still waiting', () => {
    const limits = LIMITS;
    const events: string[] = [];
    const parsed: string[] = [];
    const inbound: InboundFlow = new InboundFlow(limits, {
      pause: () => events.push('pause'),
      resume: () => events.push('resume'),
      parse: (chunk) => {
        parsed.push(chunk.toString());
        if (chunk.toString() !== 'empty') inbound.enqueue(100);
      },
    });
    inbound.enqueue(4_000);
    for (const text of ['a', 'empty', 'b']) inbound.admit(Buffer.from(text));
    inbound.dequeue(4_000);
    expect(parsed).toEqual(['a']);
    expect(inbound.admit(Buffer.from('c'))).toBe('held');
    inbound.dequeue(100);
    expect(parsed).toEqual(['a', 'empty', 'b']);
    inbound.dequeue(100);
    expect(parsed).toEqual(['a', 'empty', 'b', 'c']);
    expect(events).toEqual(['pause']);
    inbound.dequeue(100);
    expect(events).toEqual(['pause', 'resume']);
    expect(inbound.admit(Buffer.from('d'))).toBe('parse');
  });

  it('should not resume while bytes in flight stay above the resume mark', () => {
    const { flow: inbound, events } = flow();
    inbound.reserve(3_000);
    inbound.enqueue(1_000);
    expect(events).toEqual(['pause']);
    inbound.dequeue(1_000);
    expect(events).toEqual(['pause']);
    inbound.release(2_000);
    expect(events).toEqual(['pause', 'resume']);
    expect(inbound.pauses).toBe(1);
    expect(inbound.peakBytes).toBe(4_000);
  });

  it('should refuse a frame past the frame limit or the byte limit, and a held message past the byte limit', () => {
    const { flow: inbound } = flow({ ...LIMITS, maxPendingFrames: 2 });
    expect(inbound.enqueue(10)).toBe(true);
    expect(inbound.enqueue(10)).toBe(true);
    expect(inbound.enqueue(10)).toBe(false);
    const bytes = flow().flow;
    expect(bytes.enqueue(9_000)).toBe(true);
    expect(bytes.enqueue(1_001)).toBe(false);
    expect(bytes.admit(Buffer.alloc(1_000))).toBe('over-limit');
  });

  it('should neither parse nor resume once stopped', () => {
    const { flow: inbound, events, parsed } = flow();
    inbound.enqueue(4_000);
    inbound.admit(Buffer.from('a'));
    inbound.stop();
    inbound.dequeue(4_000);
    expect(parsed).toEqual([]);
    expect(events).toEqual(['pause']);
  });
});
