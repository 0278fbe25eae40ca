import { spawn } from 'node:child_process';
import { once } from 'node:events';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDatabaseExists, migrateDatabase } from '../../src/db/migrate.js';
import { createKafka } from '../../src/kafka/kafka-client.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../helpers/wait.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';

const isolation = testEnv();
const started: TestApp[] = [];

afterAll(async () => {
  await Promise.all(started.map((instance) => instance.close()));
  await cleanupTestEnv(isolation, started[0]?.app);
});

describe('start-up', () => {
  it('should let two instances that migrate at the same moment both start', async () => {
    const [a, b] = await Promise.all([startTestApp(isolation, { listen: false }), startTestApp(isolation, { listen: false })]);
    started.push(a, b);
    const sql = postgres(isolation.databaseUrl, { max: 1 });
    try {
      const tables = await sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
      expect(tables.map((row) => row.table_name)).toEqual(['chat_room_members', 'chat_rooms', 'messages', 'users']);
      const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied[0]?.n).toBeGreaterThan(0);
      // Migrating again is a no-op.
      await migrateDatabase(isolation.databaseUrl);
      expect(await ensureDatabaseExists(isolation.databaseUrl)).toBe(false);
    } finally {
      await sql.end();
    }
  });

  it('should enforce one DIRECT room per pair in the database', async () => {
    const sql = postgres(isolation.databaseUrl, { max: 1 });
    try {
      await sql`insert into chat_rooms (type, direct_key) values ('DIRECT', 'pair-test')`;
      await expect(sql`insert into chat_rooms (type, direct_key) values ('DIRECT', 'pair-test')`).rejects.toThrow(/unique/);
      await expect(sql`insert into chat_rooms (type, name) values ('DIRECT', 'no key')`).rejects.toThrow(/check/);
    } finally {
      await sql.end();
    }
  });

  it('should create the Kafka topics with their partition counts', async () => {
    const app = started[0]!.app;
    const admin = createKafka({
      brokers: app.deps.config.KAFKA_BROKERS,
      clientId: 'topics-test',
      log: createLogger('silent', 'test'),
    }).admin();
    await admin.connect();
    try {
      const { topics } = app.deps;
      const metadata = await admin.fetchTopicMetadata({
        topics: [topics.messages, topics.readReceipts, topics.messagesDlt, topics.readReceiptsDlt],
      });
      const partitions = Object.fromEntries(metadata.map((topic) => [topic.name, topic.partitions.length]));
      expect(partitions).toEqual({
        [topics.messages]: 6,
        [topics.readReceipts]: 3,
        [topics.messagesDlt]: 1,
        [topics.readReceiptsDlt]: 1,
      });
      expect(topics.messages).toBe(`${isolation.env.KAFKA_TOPIC_PREFIX}chat.messages`);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('process', () => {
  it('should exit 0 within a few seconds of SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, ...isolation.env, PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      await waitFor(() => output.includes('Server listening'), { timeoutMs: 45_000, what: `server to listen; output: ${output}` });
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expect(output).toContain('shutdown complete');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
