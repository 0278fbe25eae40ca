import { createClient } from 'redis';
import type { Logger } from '../logger.js';

/** The longest wait between two reconnect attempts; the publish gate's grace is derived from it. */
export const REDIS_RECONNECT_MAX_DELAY_MS = 2_000;

function makeClient(url: string, name: string, queueWhileOffline = false) {
  return createClient({
    url,
    name,
    disableOfflineQueue: !queueWhileOffline,
    socket: {
      connectTimeout: 3_000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, REDIS_RECONNECT_MAX_DELAY_MS),
    },
  });
}

export type RedisClient = ReturnType<typeof makeClient>;

/**
 * A Redis connection that reconnects by itself with capped backoff. By default it fails fast
 * while Redis is down (no offline queue), so callers can fall back to PostgreSQL at once; a
 * Pub/Sub subscriber instead queues its SUBSCRIBEs until Redis is back.
 */
export function createRedis(url: string, log: Logger, name: string, options: { queueWhileOffline?: boolean } = {}): RedisClient {
  const client = makeClient(url, name, options.queueWhileOffline);
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) log.warn({ err: error, redis: name }, 'redis connection error');
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ redis: name }, 'redis connection restored');
    down = false;
  });
  return client;
}
