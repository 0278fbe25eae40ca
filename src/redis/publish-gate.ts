import { REDIS_RECONNECT_MAX_DELAY_MS } from './redis-client.js';

/** What the gate needs of a node-redis client: its connection events. */
export interface ConnectionEvents {
  on(event: 'error' | 'reconnecting' | 'ready', listener: (...args: unknown[]) => void): unknown;
  off(event: 'error' | 'reconnecting' | 'ready', listener: (...args: unknown[]) => void): unknown;
}

export interface PublishGate {
  /** Resolves at once, unless the publisher came back from a disconnect less than the grace ago. */
  wait(): Promise<void>;
  close(): void;
}

/**
 * Redis Pub/Sub hands a message only to the subscribers connected at that instant. When Redis
 * restarts, every instance's subscriber reconnects on its own backoff schedule, so a publisher
 * that resumes the moment its own connection is back publishes into the seconds before another
 * instance's subscriber has resubscribed, and that instance's sockets never see those messages
 * although nobody disconnected from it.
 *
 * Every connection retries at most REDIS_RECONNECT_MAX_DELAY_MS apart, and node-redis
 * resubscribes before it reports ready. So once the publisher has been back for that long plus
 * a margin for the connect and the SUBSCRIBEs, every subscriber that Redis could accept is back
 * too. The broadcast consumer waits here before it publishes: Kafka keeps the records meanwhile.
 */
export function createPublishGate(
  client: ConnectionEvents,
  options: { graceMs?: number; now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
): PublishGate {
  const graceMs = options.graceMs ?? REDIS_RECONNECT_MAX_DELAY_MS + 1_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let disconnected = false;
  let openAt = 0;

  const onDown = () => {
    disconnected = true;
  };
  const onReady = () => {
    // The first ready of the client is a start, not a comeback: nobody had been subscribed yet
    // on a connection that never existed, so there is nothing to wait for.
    if (disconnected) openAt = now() + graceMs;
    disconnected = false;
  };
  client.on('error', onDown);
  client.on('reconnecting', onDown);
  client.on('ready', onReady);

  return {
    async wait() {
      const remaining = openAt - now();
      if (remaining > 0) await sleep(remaining);
    },
    close() {
      client.off('error', onDown);
      client.off('reconnecting', onDown);
      client.off('ready', onReady);
    },
  };
}
