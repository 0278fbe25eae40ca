/**
 * Who on this instance listens to what: a two-way index (destination → subscriptions, session →
 * subscriptions), so subscribe, unsubscribe and a whole session's removal are cheap.
 *
 * `deliver` serialises one MESSAGE frame per distinct subscription id (STOMP.js numbers its
 * subscriptions sub-0, sub-1… in every tab, so most subscribers of a room share an id) and writes
 * the same Buffer to each subscriber; the body bytes are never copied per subscriber. The one
 * exception is a client-acknowledged subscription (`ack:client` or `client-individual`): its
 * MESSAGE carries an id of its own connection, so it is serialised for that subscriber alone.
 */
import { serializeMessage, type HeaderEscaping } from '../stomp/index.js';

export interface Subscriber {
  readonly id: string;
  /** Header escaping of the subscriber's STOMP version. */
  readonly escape: HeaderEscaping;
  /** Writes a whole frame; the subscriber decides what to do when it cannot keep up. */
  write(frame: Buffer): void;
  /** The `ack` (and `message-id`) of the next MESSAGE on an acknowledged subscription. */
  ackId?(subscriptionId: string): string;
}

interface Subscription {
  subscriber: Subscriber;
  subscriptionId: string;
  destination: string;
  acknowledged: boolean;
}

export interface RegistryEvents {
  /** The first local subscription to `destination` was added. */
  onActive?(destination: string): void;
  /** The last local subscription to `destination` went away. */
  onIdle?(destination: string): void;
}

export class SubscriptionRegistry {
  private readonly byDestination = new Map<string, Set<Subscription>>();
  private readonly bySubscriber = new Map<Subscriber, Map<string, Subscription>>();
  private messageCounter = 0;

  constructor(
    private readonly instanceId: string,
    private readonly events: RegistryEvents = {},
  ) {}

  /**
   * False when this subscriber already has a subscription with that id. `acknowledged`: the
   * client acknowledges each MESSAGE, which then carries the id `subscriber.ackId` gives it.
   */
  add(subscriber: Subscriber, subscriptionId: string, destination: string, options: { acknowledged?: boolean } = {}): boolean {
    let own = this.bySubscriber.get(subscriber);
    if (!own) {
      own = new Map();
      this.bySubscriber.set(subscriber, own);
    }
    if (own.has(subscriptionId)) return false;
    const subscription: Subscription = { subscriber, subscriptionId, destination, acknowledged: options.acknowledged ?? false };
    own.set(subscriptionId, subscription);
    let listeners = this.byDestination.get(destination);
    if (!listeners) {
      listeners = new Set();
      this.byDestination.set(destination, listeners);
      this.events.onActive?.(destination);
    }
    listeners.add(subscription);
    return true;
  }

  /** The destination it was subscribed to, or undefined if there was no such subscription. */
  remove(subscriber: Subscriber, subscriptionId: string): string | undefined {
    const own = this.bySubscriber.get(subscriber);
    const subscription = own?.get(subscriptionId);
    if (!own || !subscription) return undefined;
    own.delete(subscriptionId);
    if (own.size === 0) this.bySubscriber.delete(subscriber);
    this.detach(subscription);
    return subscription.destination;
  }

  removeAll(subscriber: Subscriber): void {
    const own = this.bySubscriber.get(subscriber);
    if (!own) return;
    this.bySubscriber.delete(subscriber);
    for (const subscription of own.values()) this.detach(subscription);
  }

  countFor(subscriber: Subscriber): number {
    return this.bySubscriber.get(subscriber)?.size ?? 0;
  }

  hasDestination(subscriber: Subscriber, destination: string): boolean {
    const own = this.bySubscriber.get(subscriber);
    if (!own) return false;
    for (const subscription of own.values()) if (subscription.destination === destination) return true;
    return false;
  }

  subscriberCount(destination: string): number {
    return this.byDestination.get(destination)?.size ?? 0;
  }

  destinations(): string[] {
    return [...this.byDestination.keys()];
  }

  /**
   * Writes `body` as a MESSAGE to every local subscriber of `destination`; returns how many
   * frames were written. `only` narrows delivery to one subscriber (per-session queues).
   */
  deliver(
    destination: string,
    body: Buffer,
    options: { contentType?: string; headers?: Record<string, string>; only?: Subscriber } = {},
  ): number {
    // A per-session queue is looked up from the session's side: its cost must not grow with the
    // number of other sessions subscribed to the same name.
    const listeners: Iterable<Subscription> = options.only
      ? [...(this.bySubscriber.get(options.only)?.values() ?? [])].filter((own) => own.destination === destination)
      : (this.byDestination.get(destination) ?? []);
    let messageId: string | undefined;
    const frames = new Map<string, Buffer>();
    let written = 0;
    for (const { subscriber, subscriptionId, acknowledged } of listeners) {
      if (acknowledged && subscriber.ackId) {
        const ackId = subscriber.ackId(subscriptionId);
        const fields = { destination, subscription: subscriptionId, messageId: ackId, ack: ackId, escape: subscriber.escape };
        subscriber.write(
          serializeMessage({ ...fields, contentType: options.contentType ?? 'application/json', extraHeaders: options.headers }, body),
        );
        written += 1;
        continue;
      }
      if (messageId === undefined) {
        this.messageCounter += 1;
        messageId = `${this.instanceId}-${this.messageCounter}`;
      }
      const cacheKey = `${subscriber.escape}\u0000${subscriptionId}`;
      let frame = frames.get(cacheKey);
      if (!frame) {
        frame = serializeMessage(
          {
            destination,
            subscription: subscriptionId,
            messageId,
            contentType: options.contentType ?? 'application/json',
            extraHeaders: options.headers,
            escape: subscriber.escape,
          },
          body,
        );
        frames.set(cacheKey, frame);
      }
      subscriber.write(frame);
      written += 1;
    }
    return written;
  }

  private detach(subscription: Subscription): void {
    const listeners = this.byDestination.get(subscription.destination);
    if (!listeners) return;
    listeners.delete(subscription);
    if (listeners.size === 0) {
      this.byDestination.delete(subscription.destination);
      this.events.onIdle?.(subscription.destination);
    }
  }
}
