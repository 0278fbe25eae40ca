import { createClient } from 'redis';
import type { Logger } from '../logger.js';

function makeClient(url: string, name: string) {
  return createClient({
    url,
    name,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3_000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
    },
  });
}

export type RedisClient = ReturnType<typeof makeClient>;

/**
 * A Redis connection that fails fast while Redis is down (no offline queue, so callers can fall
 * back to PostgreSQL at once) and reconnects by itself with capped backoff.
 */
export function createRedis(url: string, log: Logger, name: string): RedisClient {
  const client = makeClient(url, name);
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
