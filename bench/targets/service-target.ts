import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import postgres from 'postgres';
import { topicNames, topicSpecs } from '../../src/kafka/topics.js';
import type { SendTemplate } from '../load/stomp-wire.js';
import { startNodeTarget, type NodeTargetProcess } from './node-target-process.js';
import { freePort } from '../../scripts/lib/ports.mjs';
import { runCommand, waitUntilReady } from '../../scripts/lib/processes.mjs';
import { roomOfPublisher, type Plan, type Target, type UserRef } from './target.js';

/** Raised so the benchmark measures the pipeline, not the per-user abuse limit (default 10/s). */
export const BENCH_RATE_LIMIT = 1_000_000;

export interface ServiceTargetOptions {
  root: string;
  logDir: string;
  /**
   * `compiled`: `npm run build`, then node dist/src/main.js; `prebuilt`: dist/ as it is (for
   * trying a setting in the compiled output without touching src/); `tsx`: node --import tsx src/main.ts.
   */
  runtime: 'compiled' | 'prebuilt' | 'tsx';
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
}

interface Account {
  userId: number;
  token: string;
}

/**
 * This service as a child process, through the whole path (STOMP SEND → Kafka → PostgreSQL +
 * Redis → MESSAGE), with a database, Kafka topics/groups and Redis keys of its own for the run.
 */
export function createServiceTarget(options: ServiceTargetOptions): Target {
  const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const databaseUrl = (() => {
    const url = new URL(options.databaseUrl);
    url.pathname = `/chat_bench_${suffix}`;
    return url.toString();
  })();
  const topicPrefix = `bench_${suffix}.`;
  const notes: string[] = [];
  let target: NodeTargetProcess | undefined;
  let baseUrl = '';
  let sql: postgres.Sql | undefined;
  const subscribers: Account[] = [];
  const publishers: Account[] = [];
  const roomIds: number[] = [];

  async function api<T>(method: string, path: string, body: unknown, token?: string): Promise<T> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async function signupMany(count: number, role: string): Promise<Account[]> {
    const accounts: Account[] = new Array(count);
    let next = 0;
    // argon2 hashing is the cost of a signup; two at a time keeps both cores busy, no more.
    const lane = async () => {
      while (next < count) {
        const index = next++;
        const created = await api<{ token: string; userId: number }>('POST', '/api/auth/signup', {
          email: `bench-${suffix}-${role}${index}@example.com`,
          password: 'bench password 1234',
          nickname: `${role}${index}`,
        });
        accounts[index] = { userId: created.userId, token: created.token };
      }
    };
    await Promise.all([lane(), lane()]);
    return accounts;
  }

  async function chooseRuntime(): Promise<string[]> {
    if (options.runtime === 'prebuilt') {
      notes.push('runtime: prebuilt dist/src/main.js, not rebuilt for this run');
      return [join(options.root, 'dist/src/main.js')];
    }
    if (options.runtime === 'compiled') {
      const build = await runCommand(
        process.execPath,
        [join(options.root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
        {
          cwd: options.root,
          timeoutMs: 180_000,
        },
      );
      const entry = join(options.root, 'dist/src/main.js');
      if (build.code === 0) {
        notes.push('runtime: compiled build (npm run build; node dist/src/main.js)');
        return [entry];
      }
      // tsc still emits when some other file has a type error; the compiled app is what runs.
      if (existsSync(entry)) {
        notes.push(
          `runtime: compiled build (tsc reported type errors elsewhere in the tree and emitted anyway: ${build.output.split('\n')[0]?.slice(0, 160)})`,
        );
        return [entry];
      }
      notes.push('runtime: tsx (the build produced no dist/src/main.js)');
    } else {
      notes.push('runtime: tsx (node --import tsx src/main.ts)');
    }
    return ['--import', 'tsx', join(options.root, 'src/main.ts')];
  }

  return {
    name: 'service',
    label: 'this service',
    notes,
    stores: true,
    get url() {
      return `${baseUrl.replace(/^http/, 'ws')}/ws`;
    },
    protocols: ['v12.stomp', 'v11.stomp', 'v10.stomp'],

    async start() {
      const args = await chooseRuntime();
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      const env = {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        REDIS_URL: options.redisUrl,
        KAFKA_BROKERS: options.kafkaBrokers,
        JWT_SECRET: randomBytes(32).toString('hex'),
        KAFKA_TOPIC_PREFIX: topicPrefix,
        KAFKA_GROUP_PREFIX: topicPrefix,
        REDIS_KEY_PREFIX: `bench_${suffix}:`,
        RATE_LIMIT_MESSAGES_PER_SECOND: String(BENCH_RATE_LIMIT),
        AUTH_RATE_LIMIT_PER_MINUTE: String(BENCH_RATE_LIMIT),
        LOG_LEVEL: 'warn',
        INSTANCE_ID: `bench-${suffix}`,
      };
      notes.push(
        `RATE_LIMIT_MESSAGES_PER_SECOND=${BENCH_RATE_LIMIT} and AUTH_RATE_LIMIT_PER_MINUTE=${BENCH_RATE_LIMIT} (defaults 10 and 30 would measure the abuse limits); LOG_LEVEL=warn; its own database chat_bench_${suffix}, Kafka prefix ${topicPrefix}`,
      );
      // e.g. BENCH_SERVICE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to see where the time goes.
      const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
      if (nodeArgs.length) notes.push(`node options for the service: ${nodeArgs.join(' ')}`);
      target = await startNodeTarget(args, { cwd: options.root, env, logFile: join(options.logDir, 'service.log'), nodeArgs });
      await waitUntilReady('service', async () => (await fetch(`${baseUrl}/actuator/health`)).status === 200, {
        timeoutMs: 90_000,
        child: target.child,
      });
      sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      const files = target.openFilesLimit();
      if (files)
        notes.push(
          `the service process may hold ${files.soft} open files (hard limit ${files.hard}); its own database, Redis and Kafka descriptors count against it too`,
        );
    },

    async prepare(wanted: Plan) {
      subscribers.push(...(await signupMany(wanted.rooms * wanted.subscribersPerRoom, 's')));
      publishers.push(...(await signupMany(wanted.publishers, 'p')));
      for (let room = 0; room < wanted.rooms; room += 1) {
        const members = subscribers.slice(room * wanted.subscribersPerRoom, (room + 1) * wanted.subscribersPerRoom);
        const senders = publishers.filter((_, index) => roomOfPublisher(wanted, index) === room);
        const [creator, ...others] = [...members, ...senders];
        const created = await api<{ roomId: number }>(
          'POST',
          '/api/rooms/group',
          { name: `bench room ${room}`, memberIds: others.map((account) => account.userId) },
          creator!.token,
        );
        roomIds[room] = created.roomId;
      }
      // Ingest rooms: one per ingest connection, with a second member so unread counts move too.
      for (let index = 0; index < wanted.ingestRooms; index += 1) {
        const owner = publishers[index % publishers.length]!;
        const other = subscribers[index % subscribers.length]!;
        const created = await api<{ roomId: number }>(
          'POST',
          '/api/rooms/group',
          { name: `bench ingest ${index}`, memberIds: [other.userId] },
          owner.token,
        );
        roomIds[wanted.rooms + index] = created.roomId;
      }
    },

    connectHeaders(user: UserRef) {
      const accounts = user.role === 'subscriber' ? subscribers : publishers;
      const account = accounts[user.index % accounts.length];
      if (!account) throw new Error(`no ${user.role} account ${user.index}`);
      return { Authorization: `Bearer ${account.token}` };
    },
    subscribeDestination: (room) => `/topic/room.${roomIds[room]}`,
    sendTemplate: (room): SendTemplate => ({
      destination: '/app/chat.send',
      contentType: 'application/json',
      prefix: `{"roomId":${roomIds[room]},"content":"`,
      suffix: '"}',
    }),

    async storedCount(rooms: number[]) {
      const ids = rooms.map((room) => roomIds[room]!);
      const [row] = await sql!<{ count: number }[]>`select count(*)::int as count from messages where room_id in ${sql!(ids)}`;
      return row?.count ?? 0;
    },

    /** Persistence is caught up when the row count stops moving for a second (bounded). */
    async settle() {
      const deadline = Date.now() + 60_000;
      let last = -1;
      let stableSince = Date.now();
      while (Date.now() < deadline) {
        const [row] = await sql!<{ count: number }[]>`select count(*)::int as count from messages`;
        const count = row?.count ?? 0;
        if (count !== last) {
          last = count;
          stableSince = Date.now();
        } else if (Date.now() - stableSince >= 1_000) {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },

    memory: () => target!.memory(),
    pid: () => target?.child.pid,
    openFilesLimit: () => target?.openFilesLimit()?.soft,

    async stop() {
      await target?.stop(30_000);
      await sql?.end({ timeout: 5 }).catch(() => {});
      const admin = postgres(new URL('/postgres', databaseUrl).toString(), { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists "chat_bench_${suffix}" with (force)`).catch(() => {});
      await admin.end({ timeout: 5 }).catch(() => {});
      const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: options.kafkaBrokers.split(','), logLevel: KafkaJS.logLevel.NOTHING } });
      const kafkaAdmin = kafka.admin();
      try {
        await kafkaAdmin.connect();
        await kafkaAdmin.deleteTopics({ topics: topicSpecs(topicNames(topicPrefix)).map((spec) => spec.topic), timeout: 10_000 });
      } catch {
        // Left-over bench topics are harmless: every run uses fresh names.
      } finally {
        await kafkaAdmin.disconnect().catch(() => {});
      }
    },
  };
}
