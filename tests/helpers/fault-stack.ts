import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findJava, findPgBin, findRedisServer } from '../../scripts/lib/binaries.mjs';
import {
  formatKafkaStorage,
  KAFKA_LOG4J,
  kafkaClusterId,
  kafkaJavaArgs,
  kafkaServerProperties,
  resolveKafkaJars,
} from '../../scripts/lib/kafka-broker.mjs';
import { stackDir } from '../../scripts/lib/paths.mjs';
import { portFree } from '../../scripts/lib/ports.mjs';
import { chownTree, initPostgresData, postgresOsUser, type OsUser } from '../../scripts/lib/postgres-server.mjs';
import { probeKafka, probePostgres, probeRedis } from '../../scripts/lib/probes.mjs';
import { startChild, waitUntilReady, type ManagedChild } from '../../scripts/lib/processes.mjs';

/**
 * A private PostgreSQL, Redis and Kafka for the fault tests, which kill and restart them.
 *
 * Other suites run at the same time against the shared services (5432, 6379, 29092); a fault
 * test that stopped one of those would fail them. So each service here is its own process on its
 * own port, with its data under .stack/faults/, started as a child of the test worker and stopped
 * with it: PostgreSQL via the `postgres` binary (as the postgres OS user when we are root, since
 * it refuses to run as root), `redis-server` without persistence, and one KRaft Kafka node run
 * from the jars scripts/stack.mjs resolves (resolved here the same way when they are missing).
 * Everything is created fresh on `start`.
 *
 * Ports: FAULTS_PG_PORT (15432), FAULTS_REDIS_PORT (16379), FAULTS_KAFKA_PORT (19092; the
 * controller listens on the next port). They sit below Linux's ephemeral range (32768-60999):
 * a port in it can be taken at any moment as the local end of some outgoing connection, which
 * on a busy test machine made a listen there fail now and then.
 */

const STACK_DIR = stackDir();
const FAULTS_DIR = join(STACK_DIR, 'faults');

export const FAULT_PORTS = {
  postgres: Number(process.env.FAULTS_PG_PORT ?? 15432),
  redis: Number(process.env.FAULTS_REDIS_PORT ?? 16379),
  kafka: Number(process.env.FAULTS_KAFKA_PORT ?? 19092),
};

type StopMode = 'graceful' | 'crash';

/** One private service: it can be stopped the way a fault stops it, and started again on the same data. */
export interface FaultService {
  readonly name: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Starts the process and resolves once it answers clients. */
  start(): Promise<void>;
  /** 'graceful': its own clean shutdown; 'crash': SIGKILL (PostgreSQL: immediate shutdown, as after a crash). */
  stop(mode?: StopMode): Promise<void>;
}

export interface PrivateStack {
  urls: { database: (name: string) => string; redis: string; kafka: string };
  postgres: FaultService;
  redis: FaultService;
  ports: { postgres: number; redis: number; kafka: number };
  kafka: FaultService;
  /**
   * Replaces the Kafka broker by an empty one on the same address, as a developer who wipes the
   * local stack does: the old one is killed, its data removed, a new cluster formatted and started.
   */
  replaceKafka(): Promise<void>;
  /** Stops every service and removes its data. */
  stop(): Promise<void>;
}

export interface PrivateStackOptions {
  /** Defaults to FAULT_PORTS; another set lets a second stack run beside the outage tests' one. */
  ports?: { postgres: number; redis: number; kafka: number };
  /** The folder under the stack folder for its data; default `faults`. */
  name?: string;
}

async function requireFreePorts(ports: number[]): Promise<void> {
  const taken: number[] = [];
  for (const port of ports) if (!(await portFree(port))) taken.push(port);
  if (taken.length) {
    throw new Error(
      `fault stack: port(s) ${taken.join(', ')} already in use on 127.0.0.1 by another program or fault run; ` +
        'set FAULTS_PG_PORT / FAULTS_REDIS_PORT / FAULTS_KAFKA_PORT to move the private services',
    );
  }
}

/** A child process with its output appended to a log file; restartable with the same command. */
function restartable(options: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  owner?: OsUser;
  answers: () => Promise<boolean>;
  readyTimeoutMs: number;
  gracefulSignal: NodeJS.Signals;
  crashSignal: NodeJS.Signals;
}): FaultService {
  let child: ManagedChild | undefined;

  async function stop(mode: StopMode = 'graceful'): Promise<void> {
    await child?.stop({ signal: mode === 'crash' ? options.crashSignal : options.gracefulSignal, timeoutMs: 30_000 });
  }

  return {
    name: options.name,
    get running() {
      return child?.running ?? false;
    },
    get pid() {
      return child?.pid;
    },
    async start() {
      if (child?.running) return;
      child = startChild(options.command, options.args, {
        name: options.name,
        cwd: options.cwd,
        ...options.owner,
        output: { file: options.logFile, append: true },
        // A worker that dies mid-test must not leave a broker or a postmaster holding the ports;
        // PostgreSQL's immediate shutdown also ends its backends.
        exitSignal: options.crashSignal,
      });
      try {
        await waitUntilReady(`${options.name} to answer`, options.answers, { timeoutMs: options.readyTimeoutMs, child });
      } catch (error) {
        await stop('crash').catch(() => {});
        throw error;
      }
    },
    stop,
  };
}

const isOk = (probe: Promise<{ state: string }>) => probe.then((r) => r.state === 'ok');

/**
 * Where the private PostgreSQL keeps its data. Run as root, PostgreSQL runs as the postgres OS user,
 * who may not be able to traverse the checkout's parents (a clone under `mktemp -d` is 0700), so
 * its folder is then a fresh one under the system temp dir, which everyone can traverse.
 */
function postgresDir(owner: OsUser, dataDir: string): string {
  if (owner.uid === undefined) return join(dataDir, 'pg');
  return mkdtempSync(join(tmpdir(), 'chat-faults-pg-'));
}

function createPostgres(port: number, dir: string, owner: OsUser): FaultService {
  const data = join(dir, 'data');
  const run = join(dir, 'run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  chownTree(dir, owner);
  initPostgresData({ dataDir: data, owner });
  const logFile = join(dir, 'postgres.log');
  writeFileSync(logFile, '');
  chownTree(dir, owner);
  const postgres = findPgBin('postgres');
  if (!postgres) throw new Error('fault stack: no postgres in /usr/lib/postgresql/*/bin or PATH (install the PostgreSQL server package)');
  return restartable({
    name: 'private PostgreSQL',
    command: postgres,
    args: [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${run}`,
      '-c',
      'max_connections=200',
      // Only the process is ever killed here, never the machine: the OS keeps what was written,
      // so skipping fsync loses nothing a fault test could observe and keeps a small box fast.
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
    ],
    cwd: dir,
    logFile,
    owner,
    answers: () => isOk(probePostgres({ host: '127.0.0.1', port, timeoutMs: 1_000 })),
    readyTimeoutMs: 60_000,
    // SIGINT is PostgreSQL's fast shutdown (clients disconnected, checkpoint); SIGQUIT its
    // immediate shutdown, which leaves crash recovery to the next start, as a killed server does.
    gracefulSignal: 'SIGINT',
    crashSignal: 'SIGQUIT',
  });
}

function createRedisServer(port: number, dir: string): FaultService {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return restartable({
    name: 'private Redis',
    command: findRedisServer(),
    // No persistence, like the project's Redis: a restart comes back empty (caches, presence).
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    cwd: dir,
    logFile: join(dir, 'redis.log'),
    answers: () => isOk(probeRedis({ host: '127.0.0.1', port, timeoutMs: 1_000 })),
    readyTimeoutMs: 15_000,
    gracefulSignal: 'SIGTERM',
    crashSignal: 'SIGKILL',
  });
}

function createKafkaBroker(port: number, dir = join(FAULTS_DIR, 'kafka')): FaultService {
  const data = join(dir, 'data');
  const logsDir = join(dir, 'logs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  mkdirSync(logsDir, { recursive: true });
  const propsFile = join(dir, 'server.properties');
  // The same single-node broker as scripts/stack.mjs, on other ports and another data folder.
  writeFileSync(propsFile, kafkaServerProperties({ host: '127.0.0.1', port, dataDir: data }));
  const libsDir = join(STACK_DIR, 'kafka', 'libs');
  resolveKafkaJars({ libsDir });
  // A smaller heap, and C1 only: it starts faster, and this broker is restarted mid-test.
  const javaOptions = { libsDir, logsDir, log4jFile: KAFKA_LOG4J, maxHeap: '512m', jvm: ['-XX:TieredStopAtLevel=1'] };
  const java = findJava();
  formatKafkaStorage({ java, javaOptions, propsFile, clusterId: kafkaClusterId(), cwd: dir });
  return restartable({
    name: 'private Kafka',
    command: java,
    args: kafkaJavaArgs(javaOptions, 'kafka.Kafka', propsFile),
    cwd: dir,
    logFile: join(dir, 'kafka.out'),
    answers: () => isOk(probeKafka({ host: '127.0.0.1', port, timeoutMs: 1_000 })),
    readyTimeoutMs: 90_000,
    gracefulSignal: 'SIGTERM',
    crashSignal: 'SIGKILL',
  });
}

/**
 * One more private Kafka broker alone, on ports and in a folder of its own (under .stack/faults/),
 * so a test can pause or kill it while another file's private stack runs. The caller stops it.
 */
export async function startPrivateKafka(options: {
  port: number;
  name: string;
}): Promise<{ service: FaultService; url: string; remove(): Promise<void> }> {
  await requireFreePorts([options.port, options.port + 1]);
  const dir = join(FAULTS_DIR, options.name);
  const service = createKafkaBroker(options.port, dir);
  await service.start();
  return {
    service,
    url: `127.0.0.1:${options.port}`,
    async remove() {
      await service.stop().catch(() => service.stop('crash'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates the three private services with fresh data and starts them. */
export async function startPrivateStack(options: PrivateStackOptions = {}): Promise<PrivateStack> {
  const ports = options.ports ?? FAULT_PORTS;
  const dataDir = options.name ? join(STACK_DIR, options.name) : FAULTS_DIR;
  await requireFreePorts([ports.postgres, ports.redis, ports.kafka, ports.kafka + 1]);
  mkdirSync(dataDir, { recursive: true });
  const owner = postgresOsUser();
  const pgDir = postgresDir(owner, dataDir);
  const pg = createPostgres(ports.postgres, pgDir, owner);
  const redis = createRedisServer(ports.redis, join(dataDir, 'redis'));
  let kafka = createKafkaBroker(ports.kafka, join(dataDir, 'kafka'));
  const services = () => [pg, redis, kafka];
  try {
    await Promise.all(services().map((service) => service.start()));
  } catch (error) {
    await Promise.all(services().map((service) => service.stop('crash').catch(() => {})));
    throw error;
  }
  return {
    urls: {
      database: (name) => `postgres://postgres@127.0.0.1:${ports.postgres}/${name}`,
      redis: `redis://127.0.0.1:${ports.redis}`,
      kafka: `127.0.0.1:${ports.kafka}`,
    },
    ports,
    postgres: pg,
    redis,
    get kafka() {
      return kafka;
    },
    async replaceKafka() {
      await kafka.stop('crash');
      kafka = createKafkaBroker(ports.kafka, join(dataDir, 'kafka'));
      await kafka.start();
    },
    async stop() {
      await Promise.all(services().map((service) => service.stop().catch(() => service.stop('crash'))));
      for (const dir of [pgDir, join(dataDir, 'redis'), join(dataDir, 'kafka')]) rmSync(dir, { recursive: true, force: true });
    },
  };
}
