import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports.mjs';
import { probeKafka, probeKafkaAny, probePostgres, probeRedis } from '../../scripts/lib/probes.mjs';
import { startForeignServer } from '../helpers/foreign-server.js';
import { serviceUrls } from '../helpers/services.js';

/**
 * The protocol probes scripts/stack.mjs and the fault stack decide with: a real server of the
 * kind answers 'ok', a closed port is 'down', and a program of another kind on the port is
 * 'foreign', never 'ok'.
 */
const hostPort = (url: string) => {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
};
const postgresAt = hostPort(serviceUrls.database);
const redisAt = hostPort(serviceUrls.redis);
const kafkaAt = hostPort(serviceUrls.kafka.split(',')[0]!);

let closedPort: number;
let chatty: Awaited<ReturnType<typeof startForeignServer>>;
let chattyPort: number;

beforeAll(async () => {
  closedPort = await freePort();
  chatty = await startForeignServer('HTTP/1.1 400 Bad Request\r\n\r\n');
  chattyPort = chatty.port;
});
afterAll(() => chatty.close());

describe('service probes', () => {
  it('should say ok for the real PostgreSQL, Redis and Kafka', async () => {
    expect(await probePostgres({ ...postgresAt, database: 'postgres' })).toMatchObject({ state: 'ok', detail: 'accepting connections' });
    expect(await probeRedis(redisAt)).toEqual({ state: 'ok', detail: 'PONG' });
    expect(await probeKafka(kafkaAt)).toEqual({ state: 'ok', detail: 'ApiVersions answered' });
  });

  it('should still recognise PostgreSQL when the database is missing, and name the SQLSTATE', async () => {
    expect(await probePostgres({ ...postgresAt, database: 'no_such_database_for_the_probe' })).toMatchObject({
      state: 'ok',
      sqlstate: '3D000',
    });
  });

  it('should say down where nothing listens', async () => {
    for (const probe of [probePostgres, probeRedis, probeKafka]) {
      expect(await probe({ host: '127.0.0.1', port: closedPort })).toMatchObject({ state: 'down' });
    }
  });

  it('should say foreign, never ok, for a program of another kind on the port', async () => {
    for (const probe of [probePostgres, probeRedis, probeKafka]) {
      expect(await probe({ host: '127.0.0.1', port: chattyPort })).toMatchObject({ state: 'foreign' });
    }
    expect(await probeKafka(redisAt)).toMatchObject({ state: 'foreign' });
    expect(await probeRedis({ ...postgresAt, timeoutMs: 1_000 })).toMatchObject({ state: 'foreign' });
  });

  it('should take the first Kafka broker that answers and say which', async () => {
    const answer = await probeKafkaAny([{ host: '127.0.0.1', port: closedPort }, kafkaAt]);
    expect(answer).toMatchObject({ state: 'ok', broker: kafkaAt });
  });
});
