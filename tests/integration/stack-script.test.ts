import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports.mjs';
import { runCommand, startChild } from '../../scripts/lib/processes.mjs';
import { startForeignServer } from '../helpers/foreign-server.js';
import { serviceUrls } from '../helpers/services.js';

/**
 * scripts/stack.mjs against the shared services, with a stack folder of its own (STACK_DIR): it
 * reuses what answers, refuses what it must not start, and never stops what it did not start.
 * Starting services is not done here: the shared ones are already up, and a broker of its own
 * would cost this small machine a JVM (see docs/operations.md for doing that by hand).
 */
const STACK = fileURLToPath(new URL('../../scripts/stack.mjs', import.meta.url));
const stackDir = mkdtempSync(join(tmpdir(), 'stack-script-'));
// The maintenance database always exists, so `up` has nothing to create on the shared server.
const databaseUrl = (() => {
  const url = new URL(serviceUrls.database);
  url.pathname = '/postgres';
  return url.toString();
})();

function stack(args: string[], env: Record<string, string> = {}) {
  const base = { DATABASE_URL: databaseUrl, REDIS_URL: serviceUrls.redis, KAFKA_BROKERS: serviceUrls.kafka, STACK_DIR: stackDir };
  return runCommand(process.execPath, [STACK, ...args], { timeoutMs: 60_000, env: { ...process.env, ...base, ...env } });
}

let foreign: Awaited<ReturnType<typeof startForeignServer>>;
let foreignPort: number;

beforeAll(async () => {
  foreign = await startForeignServer('SSH-2.0-not-a-database\r\n');
  foreignPort = foreign.port;
});
afterAll(async () => {
  await foreign.close();
  rmSync(stackDir, { recursive: true, force: true });
});

describe('scripts/stack.mjs', () => {
  it('should reuse the services that answer, start nothing and say so once per service', async () => {
    const { code, output } = await stack(['up']);
    expect(code, output).toBe(0);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^postgres: reusing /);
    expect(lines[1]).toMatch(/^redis: reusing /);
    expect(lines[2]).toMatch(/^kafka: reusing /);
  });

  it('should report every service answering, none started by this stack folder', async () => {
    const { code, output } = await stack(['status']);
    expect(code, output).toBe(0);
    for (const name of ['postgres', 'redis', 'kafka'])
      expect(output).toMatch(new RegExp(`^${name} .* answering; not started by stack$`, 'm'));
  });

  it('should exit 1 from status when a service does not answer', async () => {
    const { code, output } = await stack(['status'], { KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    expect(code, output).toBe(1);
    expect(output).toMatch(/^kafka .* not answering \(ECONNREFUSED\); not started by stack$/m);
  });

  it('should refuse to start a service where another kind of program holds the port', async () => {
    const kafka = await stack(['up', 'kafka'], { KAFKA_BROKERS: `127.0.0.1:${foreignPort}` });
    expect(kafka.code, kafka.output).toBe(1);
    expect(kafka.output).toContain(
      `stack: kafka: something listens on 127.0.0.1:${foreignPort} but does not answer a Kafka ApiVersions request`,
    );
    const redis = await stack(['up', 'redis'], { REDIS_URL: `redis://127.0.0.1:${foreignPort}` });
    expect(redis.code, redis.output).toBe(1);
    expect(redis.output).toContain(`stack: redis: something listens on 127.0.0.1:${foreignPort} but does not answer PING like Redis`);
  });

  it('should not start anything on an address other than loopback', async () => {
    // 192.0.2.0/24 is reserved for documentation: nothing answers there.
    const { code, output } = await stack(['up', 'kafka'], { KAFKA_BROKERS: '192.0.2.1:9092' });
    expect(code, output).toBe(1);
    expect(output).toMatch(/stack: kafka: no Kafka broker answers at 192\.0\.2\.1:9092 .*only starts services on loopback/);
  });

  it('should stop nothing it did not start', async () => {
    const { code, output } = await stack(['down']);
    expect(code, output).toBe(0);
    expect(output.trim().split('\n')).toEqual([
      'kafka: not started by stack, nothing to stop',
      'redis: not started by stack, nothing to stop',
      'postgres: not started by stack, nothing to stop',
    ]);
    expect((await stack(['status'])).code).toBe(0);
  });

  it('should wait for another up holding the lock, say so once, and go on when the holder is gone', async () => {
    const holder = startChild('sleep', ['30']);
    mkdirSync(join(stackDir, 'up.lock'), { recursive: true });
    writeFileSync(join(stackDir, 'up.lock', 'pid'), String(holder.pid));
    const waiting = stack(['up', 'redis']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await holder.stop();
    const { code, output } = await waiting;
    expect(code, output).toBe(0);
    expect(output.match(/waiting for another "stack up"/g)).toHaveLength(1);
    expect(output).toMatch(/^redis: reusing /m);
  });

  it('should reject an unknown command or service with its usage', async () => {
    for (const args of [['start'], ['up', 'mysql'], ['status', 'kafka']]) {
      const { code, output } = await stack(args);
      expect(code, args.join(' ')).toBe(2);
      expect(output).toMatch(/^usage: node scripts\/stack.mjs up/);
    }
  });
});
