import type { Sql } from '../db/client.js';
import type { Admin } from '../kafka/kafka-client.js';
import { withTimeout } from '../with-timeout.js';
import type { RedisClient } from '../redis/redis-client.js';

export type ComponentStatus = { status: 'UP' } | { status: 'DOWN'; error: string };

export type HealthCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2_000;

export function createHealthChecks(deps: { sql: Sql; redis: RedisClient; kafkaAdmin: Admin }): Record<string, HealthCheck> {
  return {
    db: async () => {
      await withTimeout(deps.sql`select 1`, CHECK_TIMEOUT_MS, 'db');
    },
    redis: async () => {
      if (!deps.redis.isReady) throw new Error('not connected');
      await withTimeout(deps.redis.ping(), CHECK_TIMEOUT_MS, 'redis');
    },
    kafka: async () => {
      // listTopics reaches a broker; admin.connect() alone would succeed against a dead one.
      await deps.kafkaAdmin.listTopics({ timeout: CHECK_TIMEOUT_MS });
    },
  };
}

export async function runHealthChecks(checks: Record<string, HealthCheck>): Promise<{
  status: 'UP' | 'DOWN';
  components: Record<string, ComponentStatus>;
}> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, ComponentStatus]> => {
      try {
        await check();
        return [name, { status: 'UP' }];
      } catch (error) {
        return [name, { status: 'DOWN', error: (error as Error).message.slice(0, 200) }];
      }
    }),
  );
  const components = Object.fromEntries(entries);
  const status = entries.every(([, component]) => component.status === 'UP') ? 'UP' : 'DOWN';
  return { status, components };
}
