#!/usr/bin/env node
// Local service stack without Docker: PostgreSQL, Redis and a single-node Apache Kafka (KRaft).
//
//   node scripts/stack.mjs up [--quiet]   reuse whatever already answers, start what is missing
//   node scripts/stack.mjs status         what answers, and what this script started
//   node scripts/stack.mjs down [svc…]    stop only what this script started (all, or the named
//                                          ones among postgres, redis, kafka)
//
// Plain Node ESM with built-ins only: it runs before anything is compiled and must not depend on
// node_modules. Configuration comes from the same variables the app reads:
//   DATABASE_URL  (postgres://postgres@127.0.0.1:5432/chat)
//   REDIS_URL     (redis://127.0.0.1:6379)
//   KAFKA_BROKERS (127.0.0.1:29092; a comma-separated list, the first one is the one started)
//
// Everything the script creates lives under <repo>/.stack (git-ignored):
//   .stack/postgres/{data,run,postgres.log}   .stack/redis/{redis.pid,redis.log}
//   .stack/kafka/{libs,data,logs,server.properties,cluster-id,pid,kafka.out}
// "Started by the stack" means: the pid file there names a live process of the right program.
// Services found answering are reused and never stopped by `down`.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaJavaArgs as brokerJavaArgs, kafkaServerProperties } from './kafka/broker-config.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STACK_DIR = path.join(ROOT, '.stack');
const KAFKA_ASSETS = path.join(ROOT, 'scripts', 'kafka');

const PG_DIR = path.join(STACK_DIR, 'postgres');
const PG_DATA = path.join(PG_DIR, 'data');
const PG_RUN = path.join(PG_DIR, 'run');
const PG_LOG = path.join(PG_DIR, 'postgres.log');

const REDIS_DIR = path.join(STACK_DIR, 'redis');
const REDIS_PID = path.join(REDIS_DIR, 'redis.pid');
const REDIS_LOG = path.join(REDIS_DIR, 'redis.log');
const REDIS_PORT = path.join(REDIS_DIR, 'port');

const KAFKA_DIR = path.join(STACK_DIR, 'kafka');
const KAFKA_LIBS = path.join(KAFKA_DIR, 'libs');
const KAFKA_LIBS_MARKER = path.join(KAFKA_LIBS, '.resolved.json');
const KAFKA_DATA = path.join(KAFKA_DIR, 'data');
const KAFKA_LOGS = path.join(KAFKA_DIR, 'logs');
const KAFKA_PROPS = path.join(KAFKA_DIR, 'server.properties');
const KAFKA_CLUSTER_ID = path.join(KAFKA_DIR, 'cluster-id');
const KAFKA_FORMATTED_BY = path.join(KAFKA_DIR, 'formatted-by-version');
const KAFKA_PID = path.join(KAFKA_DIR, 'pid');
const KAFKA_OUT = path.join(KAFKA_DIR, 'kafka.out');
const KAFKA_POM = path.join(KAFKA_ASSETS, 'pom.xml');
const KAFKA_LOG4J = path.join(KAFKA_ASSETS, 'log4j2.xml');

const LOCK_DIR = path.join(STACK_DIR, 'up.lock');

const PROBE_TIMEOUT_MS = 2000;
const PG_START_TIMEOUT_S = 60;
const REDIS_START_TIMEOUT_MS = 15_000;
const KAFKA_START_TIMEOUT_MS = 90_000;
const KAFKA_STOP_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Small helpers

class StackError extends Error {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (startMs) => ((Date.now() - startMs) / 1000).toFixed(1);

let QUIET = false;
/** Progress line: suppressed by --quiet. */
function info(msg) {
  if (!QUIET) console.log(msg);
}
/** Summary line: exactly one per service, always printed. */
function summary(msg) {
  console.log(msg);
}

function fail(msg) {
  throw new StackError(msg);
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function tail(file, lines = 40) {
  const text = readText(file);
  if (text == null) return `(no ${path.relative(ROOT, file)})`;
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Find an executable on PATH (or an absolute path), without `which`. */
function findOnPath(name) {
  if (name.includes('/')) return fs.existsSync(name) ? name : null;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Configuration

function parseHostPort(text, defaultPort, what) {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(text.trim());
  if (!m || !m[1]) fail(`${what}: cannot read host:port from "${text}"`);
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

function parseUrl(value, defaultPort, variable) {
  let url;
  try {
    url = new URL(value);
  } catch {
    fail(`${variable} is not a valid URL: "${value}"`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) fail(`${variable} has no host: "${value}"`);
  return { url, host, port: url.port ? Number(url.port) : defaultPort };
}

function readConfig() {
  const pgUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/chat';
  const pg = parseUrl(pgUrl, 5432, 'DATABASE_URL');
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const redis = parseUrl(redisUrl, 6379, 'REDIS_URL');
  const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:29092')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseHostPort(s.replace(/^[a-z]+:\/\//i, ''), 9092, 'KAFKA_BROKERS'));
  if (brokers.length === 0) fail('KAFKA_BROKERS is empty');
  return {
    postgres: {
      host: pg.host,
      port: pg.port,
      user: decodeURIComponent(pg.url.username) || 'postgres',
      password: decodeURIComponent(pg.url.password),
      database: decodeURIComponent(pg.url.pathname.replace(/^\//, '')) || 'postgres',
    },
    redis: {
      host: redis.host,
      port: redis.port,
      username: decodeURIComponent(redis.url.username),
      password: decodeURIComponent(redis.url.password),
    },
    kafka: { brokers, host: brokers[0].host, port: brokers[0].port },
  };
}

// ---------------------------------------------------------------------------------------------
// Protocol probes. Each resolves to { state, detail }:
//   'ok'      a real server of that kind answered
//   'down'    nothing accepts connections there (refused / timed out connecting)
//   'foreign' something accepted the connection but did not answer like that server
// A bare TCP connect is not enough: a half-started server, or an unrelated program on the port,
// must not count as "answering".

function exchange(host, port, payload, isComplete, timeoutMs = PROBE_TIMEOUT_MS, goodbye = null) {
  return new Promise((resolve) => {
    let connected = false;
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => done(connected ? { state: 'foreign', reply: buf, detail: 'no reply' } : { state: 'down', detail: 'connect timeout' }),
      timeoutMs,
    );
    socket.on('connect', () => {
      connected = true;
      socket.write(payload);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (isComplete(buf)) {
        if (goodbye) socket.end(goodbye);
        done({ state: 'reply', reply: buf });
      }
    });
    socket.on('error', (err) =>
      done(connected ? { state: 'foreign', reply: buf, detail: err.code || err.message } : { state: 'down', detail: err.code || err.message }),
    );
    socket.on('close', () =>
      done(connected ? { state: 'foreign', reply: buf, detail: 'closed' } : { state: 'down', detail: 'closed' }),
    );
  });
}

/**
 * PostgreSQL: a v3 StartupMessage for the configured user/database. A ready server answers with
 * Authentication messages ('R'). With trust auth it goes on (AuthenticationOk, then either
 * ReadyForQuery 'Z' or an ErrorResponse such as 3D000 "database does not exist", which `up` fixes
 * by creating it). An ErrorResponse also proves a server, except SQLSTATE 57P03 ("the database
 * system is starting up"/"shutting down"), which means: not ready yet.
 */
function pgMessages(buf) {
  const out = [];
  let off = 0;
  while (buf.length - off >= 5) {
    const len = buf.readInt32BE(off + 1);
    if (buf.length - off < 1 + len) break;
    out.push({ type: String.fromCharCode(buf[off]), body: buf.subarray(off + 5, off + 1 + len) });
    off += 1 + len;
  }
  return out;
}

function pgDecisive(m) {
  return m.type === 'Z' || m.type === 'E' || (m.type === 'R' && m.body.readInt32BE(0) !== 0) || !'RSKNZE'.includes(m.type);
}

async function probePostgres({ host, port, user, database }) {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const msg = Buffer.alloc(8 + params.length);
  msg.writeInt32BE(msg.length, 0);
  msg.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(msg, 8);
  const terminate = Buffer.from([0x58, 0, 0, 0, 4]); // 'X': polite goodbye
  const r = await exchange(host, port, msg, (b) => pgMessages(b).some(pgDecisive) || (b.length > 0 && !'RE'.includes(String.fromCharCode(b[0]))), PROBE_TIMEOUT_MS, terminate);
  if (r.state !== 'reply') return r;
  const msgs = pgMessages(r.reply);
  const last = msgs.find(pgDecisive);
  if (!last) return { state: 'foreign', detail: `unexpected reply byte ${JSON.stringify(String.fromCharCode(r.reply[0]))}` };
  if (last.type === 'Z') return { state: 'ok', detail: 'accepting connections' };
  if (last.type === 'R') return { state: 'ok', detail: 'accepting connections (password required)' };
  if (last.type === 'E') {
    const fields = {};
    for (const part of last.body.toString('utf8').split('\0')) {
      if (part) fields[part[0]] = part.slice(1);
    }
    if (fields.C === '57P03') return { state: 'down', detail: fields.M || 'starting up' };
    return { state: 'ok', detail: fields.M, sqlstate: fields.C };
  }
  return { state: 'foreign', detail: `unexpected reply message ${JSON.stringify(last.type)}` };
}

/** Redis: inline PING must come back as +PONG (after AUTH when the URL carries a password). */
async function probeRedis({ host, port, username, password }) {
  const resp = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const auth = password ? resp('AUTH', ...(username ? [username] : []), password) : '';
  const expectedLines = password ? 2 : 1;
  const isComplete = (b) => b.toString('latin1').split('\r\n').length > expectedLines;
  const r = await exchange(host, port, auth + 'PING\r\n', isComplete);
  if (r.state !== 'reply') return r;
  const lines = r.reply.toString('latin1').split('\r\n');
  const last = lines[expectedLines - 1];
  if (last === '+PONG') return { state: 'ok', detail: 'PONG' };
  if (/^-(LOADING|BUSY)/.test(last)) return { state: 'down', detail: last.slice(1) };
  if (/^-(NOAUTH|WRONGPASS|ERR)/.test(lines[0])) return { state: 'ok', detail: `answers, but: ${lines[0].slice(1)}` };
  return { state: 'foreign', detail: `unexpected reply ${JSON.stringify(lines[0].slice(0, 40))}` };
}

/**
 * Kafka: ApiVersions v0 (api_key 18). Request header v1: int16 api_key, int16 api_version,
 * int32 correlation_id, nullable string client_id; the v0 body is empty. The response starts
 * with int32 size, int32 correlation_id, int16 error_code. The socket only accepts requests once
 * the broker has caught up with the metadata log, so an answer means "ready for clients".
 */
async function probeKafka({ host, port }) {
  const clientId = Buffer.from('stack-probe', 'utf8');
  const correlationId = (Math.random() * 0x7fffffff) | 0;
  const msg = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  msg.writeInt32BE(msg.length - 4, 0);
  msg.writeInt16BE(18, 4); // ApiVersions
  msg.writeInt16BE(0, 6); // v0
  msg.writeInt32BE(correlationId, 8);
  msg.writeInt16BE(clientId.length, 12);
  clientId.copy(msg, 14);
  const isComplete = (b) => b.length >= 4 && b.length >= 4 + b.readInt32BE(0);
  const r = await exchange(host, port, msg, isComplete);
  if (r.state !== 'reply') return r;
  if (r.reply.length < 10 || r.reply.readInt32BE(4) !== correlationId) {
    return { state: 'foreign', detail: 'reply is not a Kafka ApiVersions response' };
  }
  // 0, or 35 UNSUPPORTED_VERSION (a broker that dropped v0 still answers with its version
  // ranges): either way a Kafka broker is serving requests.
  const errorCode = r.reply.readInt16BE(8);
  if (errorCode !== 0 && errorCode !== 35) return { state: 'foreign', detail: `ApiVersions error_code ${errorCode}` };
  return { state: 'ok', detail: 'ApiVersions answered' };
}

async function probeKafkaAny(brokers) {
  let last;
  for (const b of brokers) {
    last = await probeKafka(b);
    if (last.state === 'ok') return { ...last, broker: b };
  }
  return last;
}

/** Poll `probe` until it says ok; `onTick` may throw to abort (e.g. the process died). */
async function waitUntil(probe, { timeoutMs, label, onTick, intervalMs = 500 }) {
  const start = Date.now();
  let lastReport = start;
  for (;;) {
    const r = await probe();
    if (r.state === 'ok') return r;
    if (onTick) await onTick();
    if (Date.now() - start > timeoutMs) return r;
    if (Date.now() - lastReport >= 5000) {
      info(`${label}: waiting… ${seconds(start)}s (${r.detail || r.state})`);
      lastReport = Date.now();
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes started by the stack

function readPid(file, lineIndex = 0) {
  const text = readText(file);
  if (!text) return null;
  const pid = Number(text.split('\n')[lineIndex]?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  // A zombie still "exists" for kill(0); /proc tells the truth on Linux.
  const stat = readText(`/proc/${pid}/stat`);
  if (stat && /^\d+ \(.*\) Z/.test(stat)) return false;
  return true;
}

/**
 * Is `pid` alive and running the expected program? Guards against a stale pid file whose pid has
 * been reused by an unrelated process (we would otherwise signal a stranger).
 */
function isOurProcess(pid, marker) {
  if (!pid || !isAlive(pid)) return false;
  const cmdline = readText(`/proc/${pid}/cmdline`);
  if (cmdline == null) return true; // no /proc (not Linux): trust the pid file
  return cmdline.replace(/\0/g, ' ').includes(marker);
}

async function waitForExit(pid, timeoutMs) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (!isAlive(pid)) return true;
    await sleep(200);
  }
  return !isAlive(pid);
}

/** SIGTERM, wait, then SIGKILL after the bound. */
async function terminate(pid, timeoutMs, label) {
  const start = Date.now();
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if (err.code === 'ESRCH') return 'gone';
    throw err;
  }
  if (await waitForExit(pid, timeoutMs)) return `stopped in ${seconds(start)}s`;
  info(`${label}: still running after ${timeoutMs / 1000}s, sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await waitForExit(pid, 5000);
  return `killed after ${seconds(start)}s`;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) return { ok: false, status: null, stdout: '', stderr: String(r.error.message) };
  return { ok: r.status === 0, status: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

/** Serialise concurrent `up`s (two test runs at once must not start two brokers). */
async function withLock(fn) {
  fs.mkdirSync(STACK_DIR, { recursive: true });
  const start = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(LOCK_DIR);
      fs.writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = readPid(path.join(LOCK_DIR, 'pid'));
      if (holder && holder !== process.pid && isAlive(holder)) {
        if (Date.now() - start > 300_000) fail(`another "stack up" (pid ${holder}) holds ${LOCK_DIR} for over 5 minutes`);
        if (Date.now() - start < 600) info(`waiting for another "stack up" (pid ${holder}) to finish…`);
        await sleep(500);
        continue;
      }
      // Stale lock (holder died, or it is being created right now: give it a moment).
      if (!holder && Date.now() - start < 1000) {
        await sleep(200);
        continue;
      }
      fs.rmSync(LOCK_DIR, { recursive: true, force: true });
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

function findPgBin(name) {
  const base = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = fs
      .readdirSync(base)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a)); // newest first
  } catch {
    /* not Debian layout */
  }
  for (const v of versions) {
    const p = path.join(base, v, 'bin', name);
    if (fs.existsSync(p)) return p;
  }
  return findOnPath(name);
}

/** postgres refuses to run as root: when we are root, run its tools as the `postgres` OS user. */
function pgRunAs() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const passwd = readText('/etc/passwd') || '';
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) fail('running as root, and there is no "postgres" OS user to run PostgreSQL as (postgres refuses to run as root)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function chownTree(dir, { uid, gid }) {
  if (uid == null) return;
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, { uid, gid });
    else fs.lchownSync(p, uid, gid);
  }
}

/** pid of the postmaster that owns .stack/postgres/data, and the port it listens on. */
function stackPostgres() {
  const file = path.join(PG_DATA, 'postmaster.pid');
  const pid = readPid(file, 0);
  const port = readPid(file, 3);
  return pid && isOurProcess(pid, 'postgres') ? { pid, port } : null;
}

async function ensureDatabase(cfg, probe) {
  if (probe.sqlstate !== '3D000') return '';
  const createdb = findPgBin('createdb');
  if (!createdb) {
    info(`postgres: database "${cfg.database}" does not exist and no createdb binary to create it`);
    return `, database "${cfg.database}" MISSING`;
  }
  const env = { ...process.env, PGCONNECT_TIMEOUT: '5' };
  if (cfg.password) env.PGPASSWORD = cfg.password;
  const r = run(createdb, ['-h', cfg.host, '-p', String(cfg.port), '-U', cfg.user, '--', cfg.database], { env });
  if (!r.ok && !/already exists/.test(r.stderr)) {
    fail(`postgres: could not create database "${cfg.database}": ${r.stderr.trim()}`);
  }
  return `, created database "${cfg.database}"`;
}

async function ensurePostgres(cfg) {
  const where = `${cfg.host}:${cfg.port}`;
  let probe = await probePostgres(cfg);
  const ours = stackPostgres();

  if (probe.state === 'down' && ours && ours.port === cfg.port) {
    // Ours, but not (yet) answering, e.g. a concurrent start or crash recovery: wait for it.
    info(`postgres: stack's server (pid ${ours.pid}) is not answering yet, waiting`);
    probe = await waitUntil(() => probePostgres(cfg), { timeoutMs: PG_START_TIMEOUT_S * 1000, label: 'postgres' });
  }
  if (probe.state === 'ok') {
    const extra = await ensureDatabase(cfg, probe);
    if (ours && ours.port === cfg.port) summary(`postgres: already running (started by stack, pid ${ours.pid}) on ${where}${extra}`);
    else summary(`postgres: reusing ${where}${extra}`);
    return;
  }
  if (!isLoopback(cfg.host)) fail(`postgres: no PostgreSQL answers at ${where} (${probe.detail}), and the stack only starts services on loopback`);
  if (probe.state === 'foreign') fail(`postgres: something listens on ${where} but does not speak the PostgreSQL protocol (${probe.detail})`);
  if (ours) fail(`postgres: the stack's server (pid ${ours.pid}) runs on port ${ours.port}, not ${cfg.port}; run "node scripts/stack.mjs down postgres" first`);

  const initdb = findPgBin('initdb');
  const pgCtl = findPgBin('pg_ctl');
  if (!initdb || !pgCtl) fail(`postgres: nothing answers at ${where}, and no initdb/pg_ctl found (looked in /usr/lib/postgresql/*/bin and PATH); install PostgreSQL server binaries`);

  const start = Date.now();
  const as = pgRunAs();
  fs.mkdirSync(PG_RUN, { recursive: true });
  if (as.uid != null) chownTree(PG_DIR, as);

  if (!fs.existsSync(path.join(PG_DATA, 'PG_VERSION'))) {
    info(`postgres: initdb ${path.relative(ROOT, PG_DATA)} (${path.dirname(path.dirname(initdb))})`);
    fs.rmSync(PG_DATA, { recursive: true, force: true });
    const r = run(
      initdb,
      ['-D', PG_DATA, '-U', cfg.user, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { ...as, cwd: PG_DIR },
    );
    if (!r.ok) fail(`postgres: initdb failed:\n${r.stdout}${r.stderr}`);
  }

  info(`postgres: starting on ${where}`);
  // Host/port/socket dir on the command line (not in postgresql.conf), so a changed DATABASE_URL
  // port just works with the same data dir.
  const listen = cfg.host === 'localhost' ? '127.0.0.1' : cfg.host;
  const opts = `-p ${cfg.port} -c listen_addresses=${listen} -c unix_socket_directories=${PG_RUN}`;
  const r = run(pgCtl, ['start', '-D', PG_DATA, '-l', PG_LOG, '-w', '-t', String(PG_START_TIMEOUT_S), '-o', opts], {
    ...as,
    cwd: PG_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!r.ok) fail(`postgres: pg_ctl start failed:\n${r.stdout}${r.stderr}\n--- ${path.relative(ROOT, PG_LOG)} ---\n${tail(PG_LOG)}`);

  probe = await waitUntil(() => probePostgres(cfg), { timeoutMs: PG_START_TIMEOUT_S * 1000, label: 'postgres' });
  if (probe.state !== 'ok') fail(`postgres: started but does not answer at ${where} (${probe.detail})\n${tail(PG_LOG)}`);
  const extra = await ensureDatabase(cfg, probe);
  const pid = stackPostgres()?.pid;
  summary(`postgres: started ${where} (pid ${pid}, data ${path.relative(ROOT, PG_DATA)}) in ${seconds(start)}s${extra}`);
}

async function stopPostgres() {
  const ours = stackPostgres();
  if (!ours) return 'not started by stack';
  const pgCtl = findPgBin('pg_ctl');
  if (pgCtl) {
    const start = Date.now();
    const r = run(pgCtl, ['stop', '-D', PG_DATA, '-m', 'fast', '-w', '-t', '30'], { ...pgRunAs(), cwd: PG_DIR });
    if (r.ok) return `stopped (pid ${ours.pid}) in ${seconds(start)}s`;
    info(`postgres: pg_ctl stop failed (${(r.stderr || r.stdout).trim()}), signalling`);
  }
  // SIGINT is PostgreSQL's "fast shutdown".
  try {
    process.kill(ours.pid, 'SIGINT');
  } catch {
    /* gone */
  }
  if (await waitForExit(ours.pid, 30_000)) return `stopped (pid ${ours.pid})`;
  process.kill(ours.pid, 'SIGKILL');
  return `killed (pid ${ours.pid})`;
}

// ---------------------------------------------------------------------------------------------
// Redis

function stackRedis() {
  const pid = readPid(REDIS_PID);
  return pid && isOurProcess(pid, 'redis-server') ? { pid, port: readPid(REDIS_PORT) } : null;
}

async function ensureRedis(cfg) {
  const where = `${cfg.host}:${cfg.port}`;
  let probe = await probeRedis(cfg);
  const ours = stackRedis();
  const oursHere = ours && ours.port === cfg.port;
  if (probe.state === 'down' && oursHere) {
    info(`redis: stack's server (pid ${ours.pid}) is not answering yet, waiting`);
    probe = await waitUntil(() => probeRedis(cfg), { timeoutMs: REDIS_START_TIMEOUT_MS, label: 'redis' });
  }
  if (probe.state === 'ok') {
    const note = probe.detail === 'PONG' ? '' : ` (${probe.detail})`;
    if (oursHere) summary(`redis: already running (started by stack, pid ${ours.pid}) on ${where}${note}`);
    else summary(`redis: reusing ${where}${note}`);
    return;
  }
  if (!isLoopback(cfg.host)) fail(`redis: no Redis answers at ${where} (${probe.detail}), and the stack only starts services on loopback`);
  if (probe.state === 'foreign') fail(`redis: something listens on ${where} but does not answer PING like Redis (${probe.detail})`);
  if (oursHere) fail(`redis: the stack's server (pid ${ours.pid}) is running but does not answer at ${where}; run "node scripts/stack.mjs down redis" first`);
  if (ours) fail(`redis: the stack's server (pid ${ours.pid}) runs on port ${ours.port}, not ${cfg.port}; run "node scripts/stack.mjs down redis" first`);

  const server = findOnPath('redis-server');
  if (!server) fail(`redis: nothing answers at ${where}, and no redis-server binary on PATH (apt-get install redis-server)`);

  const start = Date.now();
  fs.mkdirSync(REDIS_DIR, { recursive: true });
  fs.rmSync(REDIS_PID, { force: true });
  const bind = cfg.host === 'localhost' ? '127.0.0.1' : cfg.host;
  const args = [
    '--port', String(cfg.port),
    '--bind', bind,
    '--dir', REDIS_DIR,
    // A cache and pub/sub bus for dev/tests: no persistence.
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'yes',
    '--pidfile', REDIS_PID,
    '--logfile', REDIS_LOG,
  ];
  if (cfg.password && !cfg.username) args.push('--requirepass', cfg.password);
  info(`redis: starting on ${where}`);
  fs.writeFileSync(REDIS_PORT, `${cfg.port}\n`);
  const r = run(server, args, { cwd: REDIS_DIR });
  if (!r.ok) fail(`redis: redis-server failed to start:\n${r.stdout}${r.stderr}\n${tail(REDIS_LOG)}`);

  probe = await waitUntil(() => probeRedis(cfg), { timeoutMs: REDIS_START_TIMEOUT_MS, label: 'redis' });
  if (probe.state !== 'ok') fail(`redis: started but does not answer at ${where} (${probe.detail})\n${tail(REDIS_LOG)}`);
  summary(`redis: started ${where} (pid ${readPid(REDIS_PID)}) in ${seconds(start)}s`);
}

async function stopRedis() {
  const ours = stackRedis();
  if (!ours) return 'not started by stack';
  // Redis shuts down cleanly on SIGTERM; with no save points configured it writes nothing.
  const how = await terminate(ours.pid, 10_000, 'redis');
  fs.rmSync(REDIS_PID, { force: true });
  fs.rmSync(REDIS_PORT, { force: true });
  return `${how} (pid ${ours.pid})`;
}

// ---------------------------------------------------------------------------------------------
// Kafka

function kafkaVersionFromPom() {
  const pom = readText(KAFKA_POM);
  if (!pom) fail(`kafka: ${path.relative(ROOT, KAFKA_POM)} is missing`);
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!m) fail(`kafka: no <kafka.version> in ${path.relative(ROOT, KAFKA_POM)}`);
  return { version: m[1].trim(), pomHash: createHash('sha256').update(pom).digest('hex') };
}

function javaBin() {
  const fromHome = process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, 'bin', 'java');
  const java = (fromHome && fs.existsSync(fromHome) && fromHome) || findOnPath('java');
  if (!java) fail('kafka: no java found (JAVA_HOME or PATH); Apache Kafka 4.x needs Java 17+');
  const r = run(java, ['-version']);
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < 17) fail(`kafka: ${java} is Java ${major || '?'}; Apache Kafka 4.x needs Java 17+`);
  return java;
}

/** Are the jars in .stack/kafka/libs complete and resolved from the current pom? */
function kafkaLibsComplete(pomHash) {
  let marker;
  try {
    marker = JSON.parse(readText(KAFKA_LIBS_MARKER) || 'null');
  } catch {
    return false;
  }
  if (!marker || marker.pomHash !== pomHash || !Array.isArray(marker.jars) || marker.jars.length === 0) return false;
  return marker.jars.every((jar) => fs.existsSync(path.join(KAFKA_LIBS, jar)));
}

/**
 * Resolve the broker's runtime classpath from Maven Central with the tiny pom in scripts/kafka.
 * Resolved into a temporary folder and renamed into place, so an interrupted run never leaves a
 * half-filled libs folder that looks complete, and a version change never leaves old jars on the
 * classpath next to new ones.
 */
function resolveKafkaJars() {
  const { version, pomHash } = kafkaVersionFromPom();
  if (kafkaLibsComplete(pomHash)) return { version, resolvedMs: 0 };

  const mvn = findOnPath('mvn');
  if (!mvn) fail('kafka: the broker jars are not resolved yet and there is no mvn on PATH (apt-get install maven)');
  const start = Date.now();
  const tmp = `${KAFKA_LIBS}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(tmp), { recursive: true });
  info(`kafka: resolving Apache Kafka ${version} broker jars from Maven Central (first time can take a few minutes)…`);
  const r = run(
    mvn,
    [
      '-q', '-B', '-Dstyle.color=never',
      '-f', KAFKA_POM,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
    ],
    { cwd: KAFKA_ASSETS, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
  );
  const jars = fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((f) => f.endsWith('.jar')) : [];
  if (!r.ok || !jars.some((j) => j.startsWith(`kafka_2.13-${version}`))) {
    fail(`kafka: mvn could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${r.status}):\n${(r.stdout + r.stderr).trim().split('\n').slice(-30).join('\n')}`);
  }
  fs.writeFileSync(path.join(tmp, '.resolved.json'), JSON.stringify({ version, pomHash, jars: jars.sort() }, null, 2) + '\n');
  fs.rmSync(KAFKA_LIBS, { recursive: true, force: true });
  fs.renameSync(tmp, KAFKA_LIBS);
  info(`kafka: ${jars.length} jars in ${path.relative(ROOT, KAFKA_LIBS)} (${seconds(start)}s)`);
  return { version, resolvedMs: Date.now() - start };
}

function writeKafkaProperties({ host, port }) {
  const header = ['Generated by scripts/stack.mjs on every "up" from scripts/kafka/broker-config.mjs: edit that, not this file.'];
  fs.writeFileSync(KAFKA_PROPS, kafkaServerProperties({ host, port, dataDir: KAFKA_DATA, header }));
}

function kafkaJavaArgs(mainClass, ...args) {
  return brokerJavaArgs({ libsDir: KAFKA_LIBS, logsDir: KAFKA_LOGS, log4jFile: KAFKA_LOG4J }, mainClass, ...args);
}

function compareVersions(a, b) {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  }
  return 0;
}

/**
 * Cluster id (created once, persisted) and storage formatting (idempotent thanks to -g).
 * A newer Kafka reads an older one's storage, but not the other way round: the metadata log holds
 * the newer metadata.version ("No MetadataVersion with feature level N") and the broker dies at
 * start. The local broker's data is disposable, so on a downgrade it is wiped and re-formatted.
 */
function formatKafkaStorage(java, version) {
  const formattedBy = (readText(KAFKA_FORMATTED_BY) || '').trim();
  if (formattedBy && compareVersions(version, formattedBy) < 0) {
    info(`kafka: storage was formatted by Kafka ${formattedBy}; ${version} cannot read it, wiping ${path.relative(ROOT, KAFKA_DATA)}`);
    fs.rmSync(KAFKA_DATA, { recursive: true, force: true });
    fs.rmSync(KAFKA_CLUSTER_ID, { force: true });
    fs.mkdirSync(KAFKA_DATA, { recursive: true });
  }
  let clusterId = (readText(KAFKA_CLUSTER_ID) || '').trim();
  if (!clusterId) {
    const r = run(java, kafkaJavaArgs('kafka.tools.StorageTool', 'random-uuid'), { cwd: KAFKA_DIR });
    clusterId = r.stdout.trim().split('\n').map((l) => l.trim()).filter((l) => /^[A-Za-z0-9_-]{22}$/.test(l)).pop() || '';
    if (!r.ok || !clusterId) fail(`kafka: StorageTool random-uuid failed:\n${r.stdout}${r.stderr}`);
    fs.writeFileSync(KAFKA_CLUSTER_ID, clusterId + '\n');
  }
  if (!fs.existsSync(path.join(KAFKA_DATA, 'meta.properties'))) {
    info(`kafka: formatting KRaft storage (cluster id ${clusterId})`);
    const r = run(java, kafkaJavaArgs('kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', KAFKA_PROPS, '-g'), { cwd: KAFKA_DIR });
    if (!r.ok) fail(`kafka: StorageTool format failed:\n${r.stdout}${r.stderr}`);
    fs.writeFileSync(KAFKA_FORMATTED_BY, `${version}\n`);
  }
  return clusterId;
}

function stackKafka() {
  const pid = readPid(KAFKA_PID);
  if (!pid || !isOurProcess(pid, 'kafka.Kafka')) return null;
  const m = /^listeners=PLAINTEXT:\/\/[^,]*:(\d+)/m.exec(readText(KAFKA_PROPS) || '');
  return { pid, port: m ? Number(m[1]) : null };
}

function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function fileSize(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Has the broker logged its start line since `offset` (server.log is appended to across runs)? */
function kafkaLogSaysStarted(offset) {
  const file = path.join(KAFKA_LOGS, 'server.log');
  const size = fileSize(file);
  if (size < offset) offset = 0; // rolled over meanwhile
  if (size === offset) return false;
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.includes('Kafka Server started');
  } finally {
    fs.closeSync(fd);
  }
}

async function waitForKafka(cfg, pid, start, exited, logOffset) {
  let probeOkSince = 0;
  return waitUntil(
    async () => {
      const r = await probeKafka(cfg);
      if (r.state !== 'ok') return r;
      // The socket answering is what clients need. Also wait for the "started" line, so that a
      // broker that logs nothing (the slf4j binding trap) is noticed; but don't hang on it.
      if (kafkaLogSaysStarted(logOffset)) return r;
      probeOkSince ||= Date.now();
      if (Date.now() - probeOkSince > 10_000) {
        info(`kafka: answers, but ${path.relative(ROOT, KAFKA_LOGS)}/server.log has no "Kafka Server started" line (logging broken?)`);
        return r;
      }
      return { state: 'down', detail: 'answering, waiting for "Kafka Server started"' };
    },
    {
      timeoutMs: KAFKA_START_TIMEOUT_MS,
      label: 'kafka',
      onTick: () => {
        if (exited.code !== undefined || !isAlive(pid)) {
          fail(`kafka: the broker process (pid ${pid}) exited (${exited.code ?? '?'}) after ${seconds(start)}s\n${kafkaLogTails()}`);
        }
      },
    },
  );
}

function kafkaLogTails() {
  return [
    `--- ${path.relative(ROOT, KAFKA_LOGS)}/server.log (tail) ---`,
    tail(path.join(KAFKA_LOGS, 'server.log'), 40),
    `--- ${path.relative(ROOT, KAFKA_OUT)} (tail) ---`,
    tail(KAFKA_OUT, 20),
  ].join('\n');
}

async function ensureKafka(cfg) {
  const where = `${cfg.host}:${cfg.port}`;
  let probe = await probeKafkaAny(cfg.brokers);
  const ours = stackKafka();
  const oursHere = ours && ours.port === cfg.port;

  if (probe.state !== 'ok' && ours && !oursHere) {
    fail(`kafka: the stack's broker (pid ${ours.pid}) listens on port ${ours.port}, not ${cfg.port}; run "node scripts/stack.mjs down kafka" first`);
  }
  if (probe.state !== 'ok' && oursHere) {
    // Started earlier (by an interrupted `up`, or one that is shutting down) and not answering.
    // Wait for it; if it exits meanwhile, fall through and start a fresh one.
    info(`kafka: stack's broker (pid ${ours.pid}) is not answering yet, waiting`);
    probe = await waitUntil(() => probeKafka(cfg), {
      timeoutMs: KAFKA_START_TIMEOUT_MS,
      label: 'kafka',
      onTick: () => (isAlive(ours.pid) ? undefined : fail('exited')),
    }).catch((err) => {
      if (err instanceof StackError && err.message === 'exited') return { state: 'down', detail: 'exited' };
      throw err;
    });
    if (probe.state !== 'ok' && isAlive(ours.pid)) fail(`kafka: the stack's broker (pid ${ours.pid}) does not answer at ${where}; run "node scripts/stack.mjs down kafka" and retry\n${kafkaLogTails()}`);
    if (probe.state !== 'ok') info(`kafka: the stack's broker (pid ${ours.pid}) exited, starting a new one`);
  }
  if (probe.state === 'ok') {
    const at = `${probe.broker.host}:${probe.broker.port}`;
    if (oursHere && probe.broker.port === cfg.port && isAlive(ours.pid)) summary(`kafka: already running (started by stack, pid ${ours.pid}) on ${at}`);
    else summary(`kafka: reusing ${at}`);
    return;
  }
  if (!isLoopback(cfg.host)) fail(`kafka: no broker answers at ${cfg.brokers.map((b) => `${b.host}:${b.port}`).join(',')} (${probe.detail}), and the stack only starts services on loopback`);
  if (probe.state === 'foreign') fail(`kafka: something listens on ${where} but does not answer a Kafka ApiVersions request (${probe.detail})`);
  if (fs.existsSync(KAFKA_PID)) fs.rmSync(KAFKA_PID); // stale: its process is gone

  const java = javaBin();
  const { version, resolvedMs } = resolveKafkaJars();

  const bindHost = cfg.host === 'localhost' ? '127.0.0.1' : cfg.host;
  if (!(await portFree(bindHost, cfg.port + 1))) {
    fail(`kafka: the controller port ${cfg.port + 1} (broker port + 1) on ${bindHost} is already in use`);
  }

  const start = Date.now();
  fs.mkdirSync(KAFKA_DATA, { recursive: true });
  fs.mkdirSync(KAFKA_LOGS, { recursive: true });
  writeKafkaProperties(cfg);
  formatKafkaStorage(java, version);

  info(`kafka: starting Apache Kafka ${version} on ${where} (controller ${cfg.port + 1})`);
  const logOffset = fileSize(path.join(KAFKA_LOGS, 'server.log'));
  const out = fs.openSync(KAFKA_OUT, 'w');
  const child = spawn(java, kafkaJavaArgs('kafka.Kafka', KAFKA_PROPS), {
    cwd: KAFKA_DIR,
    detached: true, // own session: survives this script and a ^C in the terminal that ran it
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = {};
  child.on('exit', (code, signal) => (exited.code = code ?? signal));
  child.on('error', (err) => (exited.code = err.message));
  child.unref();
  if (!child.pid) fail(`kafka: could not spawn ${java}`);
  fs.writeFileSync(KAFKA_PID, `${child.pid}\n`);

  probe = await waitForKafka(cfg, child.pid, start, exited, logOffset);
  if (probe.state !== 'ok') {
    fail(`kafka: broker (pid ${child.pid}) did not answer at ${where} within ${KAFKA_START_TIMEOUT_MS / 1000}s; it is left running (stop it with "node scripts/stack.mjs down")\n${kafkaLogTails()}`);
  }
  // Remember the newest version that has run on this storage (see formatKafkaStorage).
  const formattedBy = (readText(KAFKA_FORMATTED_BY) || '').trim();
  if (!formattedBy || compareVersions(version, formattedBy) > 0) fs.writeFileSync(KAFKA_FORMATTED_BY, `${version}\n`);
  const resolved = resolvedMs ? `, jars resolved in ${(resolvedMs / 1000).toFixed(1)}s` : '';
  summary(`kafka: started Apache Kafka ${version} on ${where} (pid ${child.pid}) in ${seconds(start)}s${resolved}`);
}

async function stopKafka() {
  const ours = stackKafka();
  fs.mkdirSync(KAFKA_DIR, { recursive: true });
  if (!ours) {
    fs.rmSync(KAFKA_PID, { force: true });
    return 'not started by stack';
  }
  // SIGTERM = controlled shutdown (flushes logs, closes the metadata log). Well under a second on
  // an idle single node here, but it can take ~10 s under load, hence the generous bound.
  const how = await terminate(ours.pid, KAFKA_STOP_TIMEOUT_MS, 'kafka');
  fs.rmSync(KAFKA_PID, { force: true });
  return `${how} (pid ${ours.pid})`;
}

// ---------------------------------------------------------------------------------------------
// Commands

async function up(cfg) {
  await withLock(async () => {
    await ensurePostgres(cfg.postgres);
    await ensureRedis(cfg.redis);
    await ensureKafka(cfg.kafka);
  });
}

async function status(cfg) {
  const rows = [
    ['postgres', `${cfg.postgres.host}:${cfg.postgres.port}`, await probePostgres(cfg.postgres), stackPostgres(), PG_LOG],
    ['redis', `${cfg.redis.host}:${cfg.redis.port}`, await probeRedis(cfg.redis), stackRedis(), REDIS_LOG],
    ['kafka', cfg.kafka.brokers.map((b) => `${b.host}:${b.port}`).join(','), await probeKafkaAny(cfg.kafka.brokers), stackKafka(), path.join(KAFKA_LOGS, 'server.log')],
  ];
  let allOk = true;
  for (const [name, where, probe, ours, log] of rows) {
    allOk &&= probe.state === 'ok';
    const answer =
      probe.state === 'ok'
        ? `answering${probe.sqlstate === '3D000' ? ` (database "${cfg.postgres.database}" missing)` : ''}`
        : probe.state === 'foreign'
          ? `NOT answering (port taken by something else: ${probe.detail})`
          : `not answering (${probe.detail})`;
    const configuredPort = { postgres: cfg.postgres.port, redis: cfg.redis.port, kafka: cfg.kafka.port }[name];
    const elsewhere = ours && ours.port !== configuredPort;
    const owner = !ours
      ? 'not started by stack'
      : elsewhere
        ? `not started by stack (the stack's own server, pid ${ours.pid}, listens on port ${ours.port})`
        : `started by stack (pid ${ours.pid}; log ${path.relative(ROOT, log)})`;
    console.log(`${name.padEnd(8)} ${where.padEnd(22)} ${answer}; ${owner}`);
  }
  return allOk ? 0 : 1;
}

async function down(only) {
  // Only processes whose pid files we wrote (or postgres wrote in our data dir) are touched.
  for (const [name, stop] of [
    ['kafka', stopKafka],
    ['redis', stopRedis],
    ['postgres', stopPostgres],
  ]) {
    if (only.length > 0 && !only.includes(name)) continue;
    const result = await stop();
    console.log(`${name}: ${result === 'not started by stack' ? 'not started by stack, nothing to stop' : result}`);
  }
}

const SERVICES = ['postgres', 'redis', 'kafka'];
const USAGE = 'usage: node scripts/stack.mjs up [--quiet] | status | down [postgres|redis|kafka ...]';

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  QUIET = rest.includes('--quiet');
  const args = rest.filter((a) => a !== '--quiet');
  const ok =
    (command === 'up' && args.length === 0) ||
    (command === 'status' && args.length === 0) ||
    (command === 'down' && args.every((a) => SERVICES.includes(a)));
  if (!ok) {
    console.error(USAGE);
    return 2;
  }
  if (command === 'down') {
    await down(args); // needs no configuration: it goes by the pid files
    return 0;
  }
  const cfg = readConfig();
  if (command === 'up') {
    await up(cfg);
    return 0;
  }
  return status(cfg);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof StackError) console.error(`stack: ${err.message}`);
    else console.error('stack: unexpected error:', err);
    process.exit(1);
  },
);
