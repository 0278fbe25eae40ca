#!/usr/bin/env node
// Local service stack without Docker: PostgreSQL, Redis and a single-node Apache Kafka (KRaft).
//
//   node scripts/stack.mjs up [--quiet] [svc…]   reuse whatever already answers, start what is missing
//   node scripts/stack.mjs status                what answers, and what this script started
//   node scripts/stack.mjs down [svc…]           stop only what this script started
// (svc: postgres, redis, kafka; all three when none is named)
//
// Plain Node ESM with built-ins only: it runs before anything is compiled and must not depend on
// node_modules. Configuration comes from the variables the app reads (scripts/stack/config.mjs),
// plus STACK_DIR: where everything the stack creates lives, <repo>/.stack by default (git-ignored):
//   postgres/{data,run,postgres.log}   redis/{redis.pid,redis.log,port}
//   kafka/{libs,data,logs,server.properties,cluster-id,pid,kafka.out}
// "Started by the stack" means: a pid file there names a live process of the right program.
// Services found answering are reused and never stopped by `down`. A second stack on other ports
// needs a STACK_DIR of its own, or it would take the first one's processes for its own.

import { ScriptError } from './lib/errors.mjs';
import { stackDir } from './lib/paths.mjs';
import { readConfig } from './stack/config.mjs';
import { createKafkaService } from './stack/kafka.mjs';
import { withLock } from './stack/lock.mjs';
import { createOutput, shown } from './stack/output.mjs';
import { createPostgresService } from './stack/postgres.mjs';
import { createRedisService } from './stack/redis.mjs';

const SERVICES = ['postgres', 'redis', 'kafka'];
const USAGE = 'usage: node scripts/stack.mjs up [--quiet] [postgres|redis|kafka ...] | status | down [postgres|redis|kafka ...]';

/** A failure inside one service's step reads "<service>: …". */
async function step(service, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScriptError && !err.message.startsWith(`${service.name}:`)) err.message = `${service.name}: ${err.message}`;
    throw err;
  }
}

async function up(services, cfg, out, dir) {
  await withLock(dir, out, async () => {
    for (const service of services) await step(service, () => service.ensure(cfg[service.name]));
  });
}

function describeProbe(probe, cfg) {
  if (probe.state === 'ok') return `answering${probe.sqlstate === '3D000' ? ` (database "${cfg.postgres.database}" missing)` : ''}`;
  if (probe.state === 'foreign') return `NOT answering (port taken by something else: ${probe.detail})`;
  return `not answering (${probe.detail})`;
}

async function status(services, cfg) {
  let allOk = true;
  for (const service of services) {
    const own = cfg[service.name];
    const where = service.name === 'kafka' ? own.brokers.map((b) => `${b.host}:${b.port}`).join(',') : `${own.host}:${own.port}`;
    const probe = await service.probe(own);
    allOk &&= probe.state === 'ok';
    const mine = service.ours();
    let owner = 'not started by stack';
    if (mine && mine.port !== own.port) owner += ` (the stack's own server, pid ${mine.pid}, listens on port ${mine.port})`;
    else if (mine) owner = `started by stack (pid ${mine.pid}; log ${shown(service.logFile)})`;
    console.log(`${service.name.padEnd(8)} ${where.padEnd(22)} ${describeProbe(probe, cfg)}; ${owner}`);
  }
  return allOk ? 0 : 1;
}

async function down(services) {
  // Only processes whose pid files we wrote (or postgres wrote in our data folder) are touched,
  // in the reverse of the order `up` starts them.
  for (const service of [...services].reverse()) {
    const result = await step(service, () => service.stop());
    console.log(`${service.name}: ${result ?? 'not started by stack, nothing to stop'}`);
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const quiet = rest.includes('--quiet');
  const named = rest.filter((a) => a !== '--quiet');
  const ok =
    (command === 'up' && named.every((a) => SERVICES.includes(a))) ||
    (command === 'status' && named.length === 0) ||
    (command === 'down' && named.every((a) => SERVICES.includes(a)));
  if (!ok) {
    console.error(USAGE);
    return 2;
  }
  const out = createOutput({ quiet });
  const dir = stackDir();
  const all = [createPostgresService, createRedisService, createKafkaService].map((create) => create({ stackDir: dir, out }));
  const services = named.length === 0 ? all : all.filter((service) => named.includes(service.name));
  if (command === 'down') {
    await down(services); // needs no configuration: it goes by the pid files
    return 0;
  }
  const cfg = readConfig();
  if (command === 'up') {
    await up(services, cfg, out, dir);
    return 0;
  }
  return status(services, cfg);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ScriptError) console.error(`stack: ${err.message}`);
    else console.error('stack: unexpected error:', err);
    process.exit(1);
  },
);
