/**
 * Client acknowledgement (STOMP 1.2 "SUBSCRIBE ack Header", "ACK", "NACK"); docs/stomp.md says
 * why these modes are honoured rather than refused.
 *
 * Invariants:
 * - A MESSAGE on a `client` or `client-individual` subscription carries an id issued here, as its
 *   `ack` header (1.2) and as its `message-id` (what 1.0 and 1.1 clients acknowledge by). Ids are
 *   scoped to the connection: `<tag>-<seq>`, the tag random per connection, seq increasing.
 * - Unacknowledged ids are remembered per subscription, at most `maxPerSubscription`; past that
 *   the oldest is forgotten. Room topics keep no copy to redeliver, so forgetting loses nothing,
 *   and a client that never acknowledges (Spring's simple broker never asked it to) is not cut off.
 * - `client`: an ACK or NACK settles its message and every earlier one of its subscription
 *   (cumulative). `client-individual`: its message only.
 * - NACK discards the message (the spec's "discard"); it stays in the room's history.
 * - An id issued here but no longer remembered (settled, forgotten, or of a closed subscription)
 *   settles nothing and is no error; an id never issued on this connection is 'unknown'.
 */
export type AckMode = 'auto' | 'client' | 'client-individual';
export type ClientAckMode = Exclude<AckMode, 'auto'>;

/** The SUBSCRIBE `ack` header: missing means auto; undefined for a value the spec does not define. */
export function parseAckMode(value: string | undefined): AckMode | undefined {
  if (value === undefined) return 'auto';
  return value === 'auto' || value === 'client' || value === 'client-individual' ? value : undefined;
}

/**
 * 'settled': `count` messages settled. 'stale': an id issued here that settles nothing now.
 * 'not-tracked': no client-acknowledged subscription it could belong to (auto subscriptions are
 * acknowledged on delivery, so an ACK has nothing to do). 'unknown': an id never issued here.
 */
export type AckOutcome = { outcome: 'settled'; count: number } | { outcome: 'stale' | 'not-tracked' | 'unknown' };

interface Tracked {
  mode: ClientAckMode;
  /** Sequence numbers in issue order. */
  pending: Set<number>;
}

export class AckTracker {
  private seq = 0;
  private readonly subscriptions = new Map<string, Tracked>();
  /** Pending sequence number → its subscription id. */
  private readonly owners = new Map<number, string>();
  private forgottenCount = 0;

  constructor(
    private readonly tag: string,
    private readonly maxPerSubscription: number,
  ) {}

  /** Unacknowledged messages remembered, over all subscriptions. */
  get unacknowledged(): number {
    return this.owners.size;
  }

  /** Messages forgotten unacknowledged because a subscription passed its bound. */
  get forgotten(): number {
    return this.forgottenCount;
  }

  open(subscriptionId: string, mode: ClientAckMode): void {
    this.subscriptions.set(subscriptionId, { mode, pending: new Set() });
  }

  tracks(subscriptionId: string): boolean {
    return this.subscriptions.has(subscriptionId);
  }

  close(subscriptionId: string): void {
    const tracked = this.subscriptions.get(subscriptionId);
    if (!tracked) return;
    for (const seq of tracked.pending) this.owners.delete(seq);
    this.subscriptions.delete(subscriptionId);
  }

  /** The id of the next MESSAGE on a tracked subscription. */
  issue(subscriptionId: string): string {
    this.seq += 1;
    const tracked = this.subscriptions.get(subscriptionId);
    if (tracked) {
      if (tracked.pending.size >= this.maxPerSubscription) {
        const oldest = tracked.pending.values().next().value as number;
        tracked.pending.delete(oldest);
        this.owners.delete(oldest);
        this.forgottenCount += 1;
      }
      tracked.pending.add(this.seq);
      this.owners.set(this.seq, subscriptionId);
    }
    return `${this.tag}-${this.seq}`;
  }

  /** Settles an ACK's or NACK's id; `subscriptionId` is the frame's `subscription` header, if any. */
  settle(id: string, subscriptionId: string | undefined): AckOutcome {
    const seq = this.sequenceOf(id);
    if (seq === undefined) {
      if (this.subscriptions.size === 0) return { outcome: 'not-tracked' };
      if (subscriptionId !== undefined && !this.subscriptions.has(subscriptionId)) return { outcome: 'not-tracked' };
      return { outcome: 'unknown' };
    }
    const owner = this.owners.get(seq);
    const tracked = owner === undefined ? undefined : this.subscriptions.get(owner);
    if (!tracked) return { outcome: 'stale' };
    if (tracked.mode === 'client-individual') {
      tracked.pending.delete(seq);
      this.owners.delete(seq);
      return { outcome: 'settled', count: 1 };
    }
    let count = 0;
    for (const pending of tracked.pending) {
      if (pending > seq) break;
      tracked.pending.delete(pending);
      this.owners.delete(pending);
      count += 1;
    }
    return { outcome: 'settled', count };
  }

  private sequenceOf(id: string): number | undefined {
    const prefix = `${this.tag}-`;
    if (!id.startsWith(prefix)) return undefined;
    const digits = id.slice(prefix.length);
    if (!/^[1-9]\d{0,15}$/.test(digits)) return undefined;
    const seq = Number(digits);
    return seq <= this.seq ? seq : undefined;
  }
}
