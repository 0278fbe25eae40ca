import { describe, expect, it } from 'vitest';
import { SubscriptionRegistry, type Subscriber } from '../../../src/realtime/subscription-registry.js';
import { createStompParser, SERVER_COMMANDS, header, type HeaderEscaping, type StompFrame } from '../../../src/stomp/index.js';

class RecordingSubscriber implements Subscriber {
  readonly writes: Buffer[] = [];
  constructor(
    readonly id: string,
    readonly escape: HeaderEscaping = '1.2',
  ) {}
  write(frame: Buffer): void {
    this.writes.push(frame);
  }
  frames(): StompFrame[] {
    const frames: StompFrame[] = [];
    const parser = createStompParser({ commands: SERVER_COMMANDS, onFrame: (frame) => frames.push(frame) });
    for (const write of this.writes) parser.push(write);
    return frames;
  }
}

function registryWithEvents() {
  const events: string[] = [];
  const registry = new SubscriptionRegistry('node-1', {
    onActive: (destination) => events.push(`active ${destination}`),
    onIdle: (destination) => events.push(`idle ${destination}`),
  });
  return { registry, events };
}

describe('SubscriptionRegistry index', () => {
  it('should index subscriptions both by destination and by subscriber', () => {
    const { registry } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    expect(registry.add(a, 'sub-0', '/topic/room.1')).toBe(true);
    expect(registry.add(a, 'sub-1', '/topic/room.2')).toBe(true);
    expect(registry.add(b, 'sub-0', '/topic/room.1')).toBe(true);

    expect(registry.subscriberCount('/topic/room.1')).toBe(2);
    expect(registry.subscriberCount('/topic/room.2')).toBe(1);
    expect(registry.countFor(a)).toBe(2);
    expect(registry.countFor(b)).toBe(1);
    expect(registry.hasDestination(a, '/topic/room.2')).toBe(true);
    expect(registry.hasDestination(b, '/topic/room.2')).toBe(false);
    expect(registry.destinations().sort()).toEqual(['/topic/room.1', '/topic/room.2']);
  });

  it('should refuse a second subscription with the same id from the same subscriber only', () => {
    const { registry } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    expect(registry.add(a, 'sub-0', '/topic/room.1')).toBe(true);
    expect(registry.add(a, 'sub-0', '/topic/room.2')).toBe(false);
    expect(registry.add(b, 'sub-0', '/topic/room.2')).toBe(true);
    expect(registry.countFor(a)).toBe(1);
    expect(registry.subscriberCount('/topic/room.2')).toBe(1);
  });

  it('should report a destination active at its first subscription and idle when its last one goes', () => {
    const { registry, events } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    registry.add(a, 'sub-0', '/topic/room.1');
    registry.add(b, 'sub-0', '/topic/room.1');
    registry.add(a, 'sub-1', '/topic/room.1');
    expect(events).toEqual(['active /topic/room.1']);

    expect(registry.remove(a, 'sub-0')).toBe('/topic/room.1');
    expect(registry.remove(b, 'sub-0')).toBe('/topic/room.1');
    expect(events).toEqual(['active /topic/room.1']);
    expect(registry.remove(a, 'sub-1')).toBe('/topic/room.1');
    expect(events).toEqual(['active /topic/room.1', 'idle /topic/room.1']);
    expect(registry.destinations()).toEqual([]);
  });

  it('should answer undefined when removing a subscription that does not exist', () => {
    const { registry, events } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    expect(registry.remove(a, 'sub-0')).toBeUndefined();
    registry.add(a, 'sub-0', '/topic/presence');
    expect(registry.remove(a, 'sub-9')).toBeUndefined();
    expect(registry.countFor(a)).toBe(1);
    expect(events).toEqual(['active /topic/presence']);
  });

  it('should drop every subscription of a subscriber on removeAll and leave the others in place', () => {
    const { registry, events } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    registry.add(a, 'sub-0', '/topic/room.1');
    registry.add(a, 'sub-1', '/topic/room.2');
    registry.add(a, 'sub-2', '/user/queue/errors');
    registry.add(b, 'sub-0', '/topic/room.1');

    registry.removeAll(a);
    expect(registry.countFor(a)).toBe(0);
    expect(registry.subscriberCount('/topic/room.1')).toBe(1);
    expect(registry.destinations()).toEqual(['/topic/room.1']);
    expect(events.filter((event) => event.startsWith('idle')).sort()).toEqual(['idle /topic/room.2', 'idle /user/queue/errors']);

    registry.removeAll(a);
    registry.removeAll(b);
    expect(registry.destinations()).toEqual([]);
    expect(registry.deliver('/topic/room.1', Buffer.from('{}'))).toBe(0);
  });
});

describe('SubscriptionRegistry.deliver', () => {
  it('should write the very same Buffer to every subscriber that shares a subscription id', () => {
    const { registry } = registryWithEvents();
    const tabs = Array.from({ length: 5 }, (_, index) => new RecordingSubscriber(`tab-${index}`));
    for (const tab of tabs) registry.add(tab, 'sub-0', '/topic/room.7');

    expect(registry.deliver('/topic/room.7', Buffer.from('{"n":1}'))).toBe(5);
    const first = tabs[0]!.writes[0];
    for (const tab of tabs) {
      expect(tab.writes).toHaveLength(1);
      expect(tab.writes[0]).toBe(first);
    }
  });

  it('should serialise one frame per distinct subscription id, each naming its own subscription', () => {
    const { registry } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    const c = new RecordingSubscriber('c');
    registry.add(a, 'sub-0', '/topic/room.7');
    registry.add(b, 'sub-0', '/topic/room.7');
    registry.add(c, 'chat-room-7', '/topic/room.7');

    registry.deliver('/topic/room.7', Buffer.from('{"n":1}'));
    expect(a.writes[0]).toBe(b.writes[0]);
    expect(c.writes[0]).not.toBe(a.writes[0]);
    expect(new Set([a.writes[0], b.writes[0], c.writes[0]]).size).toBe(2);
    expect(header(a.frames()[0]!, 'subscription')).toBe('sub-0');
    expect(header(c.frames()[0]!, 'subscription')).toBe('chat-room-7');
  });

  it('should serialise separately for subscribers whose STOMP version escapes headers differently', () => {
    const { registry } = registryWithEvents();
    const modern = new RecordingSubscriber('modern', '1.2');
    const legacy = new RecordingSubscriber('legacy', 'none');
    registry.add(modern, 'a:b', '/topic/room.7');
    registry.add(legacy, 'a:b', '/topic/room.7');

    registry.deliver('/topic/room.7', Buffer.from('{}'));
    expect(modern.writes[0]).not.toBe(legacy.writes[0]);
    expect(modern.writes[0]!.toString()).toContain('subscription:a\\cb\n');
    expect(legacy.writes[0]!.toString()).toContain('subscription:a:b\n');
  });

  it('should produce a MESSAGE with destination, subscription, message-id, content-type and content-length', () => {
    const { registry } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    registry.add(a, 'sub-0', '/topic/room.7');
    const body = Buffer.from(JSON.stringify({ content: 'héllo' }));

    registry.deliver('/topic/room.7', body);
    registry.deliver('/topic/room.7', body);
    const [first, second] = a.frames();
    expect(first!.command).toBe('MESSAGE');
    expect(Object.fromEntries(first!.headers)).toEqual({
      destination: '/topic/room.7',
      subscription: 'sub-0',
      'message-id': expect.stringMatching(/^node-1-\d+$/),
      'content-type': 'application/json',
      'content-length': String(body.length),
    });
    expect(first!.body.equals(body)).toBe(true);
    expect(header(second!, 'message-id')).not.toBe(header(first!, 'message-id'));
  });

  it('should deliver to one subscriber only when asked, with the extra headers', () => {
    const { registry } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    registry.add(a, 'errors', '/user/queue/errors');
    registry.add(b, 'errors', '/user/queue/errors');

    expect(registry.deliver('/user/queue/errors', Buffer.from('{}'), { only: b, headers: { 'receipt-id': 'r-1' } })).toBe(1);
    expect(a.writes).toHaveLength(0);
    expect(header(b.frames()[0]!, 'receipt-id')).toBe('r-1');
    expect(registry.deliver('/user/queue/errors', Buffer.from('{}'), { only: new RecordingSubscriber('c') })).toBe(0);
  });

  it('should still reach every other subscriber when one is removed while the frame is written', () => {
    const { registry, events } = registryWithEvents();
    // A slow consumer is cut off inside its own write, which removes it from the set being walked.
    const slow: Subscriber = { id: 'slow', escape: '1.2', write: () => registry.removeAll(slow) };
    const before = new RecordingSubscriber('before');
    const after = new RecordingSubscriber('after');
    registry.add(before, 'sub-0', '/topic/room.1');
    registry.add(slow, 'sub-0', '/topic/room.1');
    registry.add(after, 'sub-0', '/topic/room.1');

    expect(registry.deliver('/topic/room.1', Buffer.from('{}'))).toBe(3);
    expect(before.writes).toHaveLength(1);
    expect(after.writes).toHaveLength(1);
    expect(registry.countFor(slow)).toBe(0);
    expect(registry.subscriberCount('/topic/room.1')).toBe(2);
    expect(events).toEqual(['active /topic/room.1']);
  });

  it('should write nothing for a destination nobody subscribed to', () => {
    const { registry } = registryWithEvents();
    const a = new RecordingSubscriber('a');
    registry.add(a, 'sub-0', '/topic/room.1');
    expect(registry.deliver('/topic/room.2', Buffer.from('{}'))).toBe(0);
    expect(a.writes).toHaveLength(0);
  });
});

describe('SubscriptionRegistry client-acknowledged subscriptions', () => {
  class AckingSubscriber extends RecordingSubscriber {
    private seq = 0;
    ackId(subscriptionId: string): string {
      this.seq += 1;
      return `${this.id}:${subscriptionId}:${this.seq}`;
    }
  }

  it('should give each acknowledged subscriber a frame of its own with its ack id, and share the rest', () => {
    const { registry } = registryWithEvents();
    const acking = new AckingSubscriber('a');
    const plain = [new RecordingSubscriber('b'), new RecordingSubscriber('c')];
    registry.add(acking, 'sub-0', '/topic/room.1', { acknowledged: true });
    for (const subscriber of plain) registry.add(subscriber, 'sub-0', '/topic/room.1');
    expect(registry.deliver('/topic/room.1', Buffer.from('{"x":1}'))).toBe(3);

    const [acked] = acking.frames();
    expect(header(acked!, 'ack')).toBe('a:sub-0:1');
    expect(header(acked!, 'message-id')).toBe('a:sub-0:1');
    expect(acked!.body.toString()).toBe('{"x":1}');
    expect(plain[0]!.writes[0]).toBe(plain[1]!.writes[0]);
    expect(header(plain[0]!.frames()[0]!, 'ack')).toBeUndefined();
  });
});
