import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, lchownSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { kafkaJavaArgs, kafkaServerProperties } from '../../scripts/kafka/broker-config.mjs';
import { waitFor } from './wait.js';

/**
 * A private PostgreSQL, Redis and Kafka for the fault tests, which kill and restart them.
 *
 * Other suites run at the same time against the shared services (5432, 6379, 29092); a fault
 * test that stopped one of those would fail them. So each service here is its own process on its
 * own port, with its data under .stack/faults/, started as a child of the test worker and stopped
 * with it: PostgreSQL via the `postgres` binary (as the postgres OS user when we are root, since
 * it refuses to run as root), `redis-server` without persistence, and one KRaft Kafka node run
 * from the jars scripts/stack.mjs already resolved. Everything is created fresh on `start`.
 *
 * Ports: FAULTS_PG_PORT (15432), FAULTS_REDIS_PORT (16379), FAULTS_KAFKA_PORT (19092; the
 * controller listens on the next port). They sit below Linux's ephemeral range (32768-60999):
 * a port in it can be taken at any moment as the local end of some outgoing connection, which
 * on a busy test machine made a listen there fail now and then.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAULTS_DIR = join(ROOT, '.stack', 'faults');
const STACK_KAFKA_LIBS = join(ROOT, '.stack', 'kafka', 'libs');
const KAFKA_ASSETS = join(ROOT, 'scripts', 'kafka');

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
  ports: { postgres: number; redis: number; kafka: number };
  postgres: FaultService;
  redis: FaultService;
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
  /** The folder under .stack/ for its data; default `faults`. */
  name?: string;
}

/** Live children and the signal that ends each at once without orphaning its own children. */
const running = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that dies mid-test must not leave a broker or a postmaster holding the ports.
  process.once('exit', () => {
    for (const [child, signal] of running) child.kill(signal);
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
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

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/** A child process whose output goes to a log file; restartable with the same command. */
function managedProcess(options: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  uid?: number;
  gid?: number;
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  gracefulSignal: NodeJS.Signals;
  crashSignal: NodeJS.Signals;
}): FaultService {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function stop(mode: StopMode = 'graceful'): Promise<void> {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    current.kill(mode === 'crash' ? options.crashSignal : options.gracefulSignal);
    const deadline = Date.now() + 30_000;
    await waitFor(() => current.exitCode !== null || current.signalCode !== null || Date.now() > deadline, {
      timeoutMs: 35_000,
      intervalMs: 50,
      what: `${options.name} to exit`,
    });
    if (current.exitCode === null && current.signalCode === null) {
      current.kill('SIGKILL');
      await exited;
    }
  }

  return {
    name: options.name,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get pid() {
      return child?.pid;
    },
    async start() {
      if (this.running) return;
      installExitHook();
      const out = openSync(options.logFile, 'a');
      const started = spawn(options.command, options.args, {
        cwd: options.cwd,
        stdio: ['ignore', out, out],
        ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
      });
      closeSync(out);
      child = started;
      running.set(started, options.crashSignal);
      exited = new Promise((resolve) => {
        started.once('exit', () => {
          running.delete(started);
          resolve();
        });
      });
      started.once('error', () => {});
      try {
        await waitFor(
          async () => {
            if (started.exitCode !== null || started.signalCode !== null) throw new Error(`${options.name} exited (${started.exitCode ?? started.signalCode})`);
            return options.ready();
          },
          { timeoutMs: options.readyTimeoutMs, intervalMs: 200, what: `${options.name} to answer` },
        );
      } catch (error) {
        await stop('crash').catch(() => {});
        throw new Error(`${(error as Error).message}\n--- ${options.logFile} ---\n${tail(options.logFile)}`, { cause: error });
      }
    },
    stop,
  };
}

function findPgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((version) => /^\d+$/.test(version)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const candidate = join(base, version, 'bin', name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`fault stack: no ${name} in /usr/lib/postgresql/*/bin (install the PostgreSQL server package)`);
}

/** PostgreSQL refuses to run as root; as root, its tools run as the postgres OS user. */
function postgresOsUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('fault stack: running as root and there is no postgres OS user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function chownTree(dir: string, owner: { uid?: number; gid?: number }): void {
  if (owner.uid === undefined || owner.gid === undefined) return;
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, owner);
    else lchownSync(path, owner.uid, owner.gid);
  }
}

/**
 * Where the private PostgreSQL keeps its data. Run as root, PostgreSQL runs as the postgres OS user,
 * who may not be able to traverse the checkout's parents (a clone under `mktemp -d` is 0700), so
 * its folder is then a fresh one under the system temp dir, which everyone can traverse.
 */
function postgresDir(owner: { uid?: number }, dataDir: string): string {
  if (owner.uid === undefined) return join(dataDir, 'pg');
  return mkdtempSync(join(tmpdir(), 'chat-faults-pg-'));
}

function createPostgres(port: number, dir: string): FaultService {
  const data = join(dir, 'data');
  const run = join(dir, 'run');
  const owner = postgresOsUser();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  chownTree(dir, owner);
  const initdb = spawnSync(findPgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
    cwd: dir,
    encoding: 'utf8',
    ...owner,
  });
  if (initdb.status !== 0) throw new Error(`fault stack: initdb failed: ${initdb.stderr || initdb.stdout || initdb.error?.message}`);
  const logFile = join(dir, 'postgres.log');
  writeFileSync(logFile, '');
  chownTree(dir, owner);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return managedProcess({
    name: 'private PostgreSQL',
    command: findPgBin('postgres'),
    args: [
      '-D', data,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${run}`,
      '-c', 'max_connections=200',
      // Only the process is ever killed here, never the machine: the OS keeps what was written,
      // so skipping fsync loses nothing a fault test could observe and keeps a small box fast.
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
    ],
    cwd: dir,
    logFile,
    ...owner,
    ready: async () => {
      const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql`select 1`;
        return true;
      } catch {
        return false;
      } finally {
        await sql.end({ timeout: 1 }).catch(() => {});
      }
    },
    readyTimeoutMs: 60_000,
    // SIGINT is PostgreSQL's fast shutdown (clients disconnected, checkpoint); SIGQUIT its
    // immediate shutdown, which leaves crash recovery to the next start, as a killed server does.
    gracefulSignal: 'SIGINT',
    crashSignal: 'SIGQUIT',
  });
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1_000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function createRedisServer(port: number, dir: string): FaultService {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return managedProcess({
    name: 'private Redis',
    command: 'redis-server',
    // No persistence, like the project's Redis: a restart comes back empty (caches, presence).
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    cwd: dir,
    logFile: join(dir, 'redis.log'),
    ready: () => redisPing(port),
    readyTimeoutMs: 15_000,
    gracefulSignal: 'SIGTERM',
    crashSignal: 'SIGKILL',
  });
}

/** The broker jars: the ones the stack resolved, else resolved here with mvn from the same pom. */
function kafkaLibs(): string {
  if (existsSync(join(STACK_KAFKA_LIBS, '.resolved.json'))) return STACK_KAFKA_LIBS;
  const libs = join(FAULTS_DIR, 'kafka-libs');
  if (existsSync(join(libs, '.resolved.json'))) return libs;
  const resolved = spawnSync(
    'mvn',
    ['-q', '-B', '-f', join(KAFKA_ASSETS, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`],
    { cwd: KAFKA_ASSETS, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (resolved.status !== 0) throw new Error(`fault stack: could not resolve the Kafka broker jars with mvn: ${resolved.stderr || resolved.stdout}`);
  writeFileSync(join(libs, '.resolved.json'), '{}\n');
  return libs;
}

/**
 * ApiVersions v0 on a fresh connection: a KRaft broker answers it only once it serves clients.
 * A long-lived client would not do as a probe: after a broker restart its reconnect backoff
 * (up to 10 s in librdkafka) would be measured instead of the broker.
 */
function kafkaAnswers(port: number): Promise<boolean> {
  const clientId = Buffer.from('fault-probe');
  const request = Buffer.alloc(14 + clientId.length);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(18, 4);
  request.writeInt16BE(0, 6);
  request.writeInt32BE(7, 8);
  request.writeInt16BE(clientId.length, 12);
  clientId.copy(request, 14);
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = Buffer.alloc(0);
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000);
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.length >= 10) done(reply.readInt32BE(4) === 7);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.once('close', () => done(false));
  });
}

function kafkaClusterId(): string {
  // Kafka's Uuid.toString(): 16 random bytes, base64url; never one that starts with '-'.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function createKafkaBroker(port: number, dir: string): FaultService {
  const data = join(dir, 'data');
  const logs = join(dir, 'logs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const props = join(dir, 'server.properties');
  // The same single-node broker as scripts/stack.mjs, on other ports and another data folder.
  writeFileSync(props, kafkaServerProperties({ host: '127.0.0.1', port, dataDir: data }));
  // A smaller heap, and C1 only: it starts faster, and this broker is restarted mid-test.
  const options = { libsDir: kafkaLibs(), logsDir: logs, log4jFile: join(KAFKA_ASSETS, 'log4j2.xml'), maxHeap: '512m', jvm: ['-XX:TieredStopAtLevel=1'] };
  const java = ([mainClass, ...args]: string[]) => kafkaJavaArgs(options, mainClass!, ...args);
  const format = spawnSync('java', java(['kafka.tools.StorageTool', 'format', '-t', kafkaClusterId(), '-c', props, '-g']), { cwd: dir, encoding: 'utf8' });
  if (format.status !== 0) throw new Error(`fault stack: Kafka StorageTool format failed: ${format.stderr || format.stdout}`);

  const service = managedProcess({
    name: 'private Kafka',
    command: 'java',
    args: java(['kafka.Kafka', props]),
    cwd: dir,
    logFile: join(dir, 'kafka.out'),
    ready: () => kafkaAnswers(port),
    readyTimeoutMs: 90_000,
    gracefulSignal: 'SIGTERM',
    crashSignal: 'SIGKILL',
  });
  return service;
}

/** Creates the three private services with fresh data and starts them. */
export async function startPrivateStack(options: PrivateStackOptions = {}): Promise<PrivateStack> {
  const ports = options.ports ?? FAULT_PORTS;
  const dataDir = options.name ? join(ROOT, '.stack', options.name) : FAULTS_DIR;
  await requireFreePorts([ports.postgres, ports.redis, ports.kafka, ports.kafka + 1]);
  mkdirSync(dataDir, { recursive: true });
  const pgDir = postgresDir(postgresOsUser(), dataDir);
  const pg = createPostgres(ports.postgres, pgDir);
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
