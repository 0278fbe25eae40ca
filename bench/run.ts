/**
 * `npm run bench` / `npm run bench:smoke`: every workload against every target, one after the
 * other on this machine, then bench/results/<date>.json, .md and .svg.
 *
 *   tsx bench/run.ts [--smoke] [--out DIR] [--targets service,rabbitmq,ceiling]
 *                    [--workloads fanout,ingest,connections] [--rates 500,1000,2000]
 *                    [--step-ms 5000] [--rooms 10] [--subscribers 10] [--publishers 10]
 *                    [--connections 20000] [--ingest-connections 10] [--ingest-window 100]
 *                    [--workers 2] [--runtime compiled|prebuilt|tsx]
 *
 * bench/bench.sh raises the open-files limit first (children inherit it); use it, or npm run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoadPool } from './load/load-pool.js';
import { describeCpu } from './report/cpu.js';
import { renderMarkdown } from './report/markdown.js';
import type { BenchResults, GoalCheck, TargetResult } from './report/results.js';
import { round } from './report/stats.js';
import { renderLatencyPlot } from './report/svg-plot.js';
import { createCeilingTarget } from './targets/ceiling-target.js';
import { openFilesLimit } from './targets/processes.js';
import { createRabbitTarget } from './targets/rabbitmq-target.js';
import { createServiceTarget } from './targets/service-target.js';
import type { Plan, Target } from './targets/target.js';
import { runConnections, type ConnectionsOptions } from './workloads/connections.js';
import { runFanout, type FanoutOptions } from './workloads/fanout.js';
import { runIngest, type IngestOptions } from './workloads/ingest.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    targets: { type: 'string', default: 'service,rabbitmq,ceiling' },
    workloads: { type: 'string', default: 'fanout,ingest,connections' },
    rates: { type: 'string' },
    'step-ms': { type: 'string' },
    rooms: { type: 'string' },
    subscribers: { type: 'string' },
    publishers: { type: 'string' },
    connections: { type: 'string' },
    'ingest-connections': { type: 'string' },
    'ingest-window': { type: 'string' },
    'ingest-ms': { type: 'string' },
    workers: { type: 'string' },
    runtime: { type: 'string' },
  },
});

const smoke = args.smoke ?? false;
const int = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number.parseInt(value, 10));

const fanoutOptions: FanoutOptions = {
  rooms: int(args.rooms, smoke ? 2 : 10),
  subscribersPerRoom: int(args.subscribers, smoke ? 3 : 10),
  publishers: int(args.publishers, smoke ? 2 : 10),
  rates: args.rates ? args.rates.split(',').map(Number) : smoke ? [50, 100] : [250, 500, 1000, 2000, 4000, 8000, 16000, 32000],
  stepMs: int(args['step-ms'], smoke ? 1000 : 5000),
  // Smoke runs in CI beside other suites: a consumer-group hiccup must not read as a lost message.
  drainMs: smoke ? 10_000 : 3000,
  bodyBytes: 100,
  maxP99Ms: 200,
  refine: !smoke,
  warmupRate: smoke ? 20 : 200,
  warmupMs: smoke ? 500 : 2000,
};
const ingestOptions: IngestOptions = {
  connections: int(args['ingest-connections'], smoke ? 2 : 10),
  window: int(args['ingest-window'], smoke ? 10 : 100),
  durationMs: int(args['ingest-ms'], smoke ? 1000 : 5000),
  bodyBytes: 100,
  storeTimeoutMs: 30_000,
};
const connectionsOptions: ConnectionsOptions = {
  connections: int(args.connections, smoke ? 200 : 20_000),
  concurrency: smoke ? 20 : 100,
  idleMs: smoke ? 500 : 3000,
};
const workers = int(args.workers, 2);
const targetNames = (args.targets ?? '').split(',').filter(Boolean);
const workloads = new Set((args.workloads ?? '').split(',').filter(Boolean));
const outDir = resolve(args.out ?? join(ROOT, 'bench/results'));
const logDir = join(outDir, 'logs');
mkdirSync(logDir, { recursive: true });

const plan: Plan = {
  rooms: fanoutOptions.rooms,
  subscribersPerRoom: fanoutOptions.subscribersPerRoom,
  publishers: fanoutOptions.publishers,
  ingestRooms: ingestOptions.connections,
};

const startedAt = new Date();
const clock = () => `${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4)}s`;
const log = (line: string) => process.stdout.write(`[bench ${clock()}] ${line}\n`);

function makeTarget(name: string): Target {
  switch (name) {
    case 'service':
      return createServiceTarget({
        root: ROOT,
        logDir,
        runtime: (args.runtime as 'compiled' | 'prebuilt' | 'tsx' | undefined) ?? (smoke ? 'tsx' : 'compiled'),
        databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/chat',
        redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:29092',
      });
    case 'rabbitmq':
      return createRabbitTarget({
        url: process.env.RABBITMQ_WEB_STOMP_URL ?? 'ws://127.0.0.1:15674/ws',
        neededSockets: connectionsOptions.connections,
      });
    case 'ceiling':
      return createCeilingTarget({ root: ROOT, logDir });
    default:
      throw new Error(`unknown target ${name} (service, rabbitmq, ceiling)`);
  }
}

async function runTarget(target: Target, pool: LoadPool): Promise<TargetResult> {
  const began = Date.now();
  const result: TargetResult = { name: target.name, label: target.label, notes: target.notes, durationMs: 0 };
  try {
    log(`${target.label}: starting`);
    await target.start();
    await target.prepare(plan);
    if (workloads.has('fanout')) {
      log(`${target.label}: fan-out`);
      result.fanout = await runFanout(target, pool, plan, fanoutOptions, log);
      if (result.fanout.error) log(`  fan-out failed: ${result.fanout.error}`);
      await target.settle();
    }
    if (workloads.has('ingest')) {
      log(`${target.label}: ingest`);
      result.ingest = await runIngest(target, pool, plan, ingestOptions, 0);
      const ingest = result.ingest;
      log(
        `  ingest: sent ${ingest.sent}, receipts ${ingest.receipts} (${ingest.receiptsPerSecond}/s), stored ${ingest.stored ?? 'n/a'} (${ingest.storedPerSecond ?? 'n/a'}/s); CPU s ${describeCpu(ingest.cpu)}${ingest.held ? '' : ` -> not held ${ingest.error ?? ingest.errors.join('; ')}`}`,
      );
      await target.settle();
    }
    if (workloads.has('connections')) {
      log(`${target.label}: ${connectionsOptions.connections} idle connections`);
      result.connections = await runConnections(target, pool, plan, connectionsOptions);
      const connections = result.connections;
      log(
        `  connections: reached ${connections.reached}/${connections.attempted}${connections.attempted < connections.requested ? ` (capped from ${connections.requested})` : ''} at ${connections.connectPerSecond}/s; RSS ${connections.rssPerConnectionKiB} KiB/conn, heap ${connections.heapPerConnectionKiB ?? 'n/a'} KiB/conn${connections.errors.length ? `; errors: ${connections.errors.slice(0, 2).join('; ')}` : ''}`,
      );
    }
  } catch (error) {
    result.error = (error as Error).message;
    log(`${target.label}: FAILED: ${result.error}`);
    await pool.closeAll().catch(() => {});
  } finally {
    await target.stop().catch((error: unknown) => log(`${target.label}: stop failed: ${(error as Error).message}`));
    result.durationMs = Date.now() - began;
  }
  return result;
}

const share = (numerator: number | null | undefined, denominator: number | null | undefined) =>
  numerator === null || numerator === undefined || !denominator ? null : round(numerator / denominator, 2);

function checkGoals(targets: TargetResult[], comparison: BenchResults['comparison']): GoalCheck[] {
  const service = targets.find((target) => target.name === 'service');
  const goals: GoalCheck[] = [];
  const at1000 = service?.fanout?.steps.find((step) => step.offeredRate === 1000);
  const tenPerRoom = fanoutOptions.subscribersPerRoom === 10;
  goals.push({
    goal: 'fan-out 1,000 SENDs/s into rooms of 10 subscribers: p50 ≤ 10 ms, p99 ≤ 50 ms, 0 lost',
    measured:
      at1000?.latency && tenPerRoom
        ? `p50 ${at1000.latency.p50} ms, p99 ${at1000.latency.p99} ms, lost ${at1000.lost}`
        : 'not measured at 1,000 SENDs/s × 10 subscribers',
    met: at1000?.latency && tenPerRoom ? at1000.latency.p50 <= 10 && at1000.latency.p99 <= 50 && at1000.lost === 0 : null,
  });
  goals.push({
    goal: "highest fan-out rate holding p99 ≤ 200 ms ≥ RabbitMQ Web-STOMP's (ratio ≥ 1.0)",
    measured:
      comparison.fanoutRatioToRabbit === null
        ? 'no ratio'
        : `${comparison.fanoutHighest.service} vs ${comparison.fanoutHighest.rabbitmq} SEND/s = ${comparison.fanoutRatioToRabbit}×`,
    met: comparison.fanoutRatioToRabbit === null ? null : comparison.fanoutRatioToRabbit >= 1,
  });
  goals.push({
    goal: "highest fan-out rate ≥ half the raw ceiling's (ratio ≥ 0.5)",
    measured:
      comparison.fanoutRatioToCeiling === null
        ? 'no ratio'
        : `${comparison.fanoutHighest.service} vs ${comparison.fanoutHighest.ceiling} SEND/s = ${comparison.fanoutRatioToCeiling}×`,
    met: comparison.fanoutRatioToCeiling === null ? null : comparison.fanoutRatioToCeiling >= 0.5,
  });
  const ingest = service?.ingest;
  goals.push({
    goal: 'ingest ≥ 20,000 stored messages per second',
    measured: ingest ? `${ingest.storedPerSecond ?? 0} stored/s${ingest.held ? '' : ' (not every RECEIPT/row)'}` : 'not measured',
    met: ingest && !smoke ? ingest.held && (ingest.storedPerSecond ?? 0) >= 20_000 : null,
  });
  const connections = service?.connections;
  goals.push({
    goal: '20,000 idle connections on one instance at ≤ 16 KiB RSS each',
    measured: connections
      ? `${connections.reached} connections, ${connections.rssPerConnectionKiB} KiB RSS each` +
        (connections.reached < connections.requested && connections.targetOpenFiles !== null
          ? ` (the service process may hold ${connections.targetOpenFiles} open files, its own ones included: the container's hard limit)`
          : '')
      : 'not measured',
    met: connections && connections.requested >= 20_000 ? connections.reached >= 20_000 && connections.rssPerConnectionKiB <= 16 : null,
  });
  return goals;
}

async function main(): Promise<void> {
  const limit = openFilesLimit('self');
  const neededFiles = Math.ceil(connectionsOptions.connections / workers) + 1024;
  if (workloads.has('connections') && limit && limit.soft < neededFiles) {
    log(
      `warning: open-files limit ${limit.soft} < ${neededFiles} per load worker; run through bench/bench.sh (npm run bench), which raises it, or use more --workers`,
    );
  }
  log(
    `${smoke ? 'smoke' : 'full'} run: targets ${targetNames.join(', ')}; workloads ${[...workloads].join(', ')}; load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  const loadAverageStart = loadavg().map((value) => round(value, 2));
  const pool = new LoadPool(workers);
  const targets: TargetResult[] = [];
  let current: Target | undefined;
  // An interrupted run must not leave a service, a ceiling server or a database behind.
  const interrupt = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping ${current?.label ?? 'the run'}`);
    void Promise.allSettled([current?.stop(), pool.terminate()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    for (const name of targetNames) {
      current = makeTarget(name);
      targets.push(await runTarget(current, pool));
      current = undefined;
    }
  } finally {
    await pool.terminate();
  }

  const pick = (name: string) => targets.find((target) => target.name === name);
  const fanoutHighest = Object.fromEntries(
    targetNames.map((name) => [name, pick(name)?.fanout?.steps.length ? pick(name)!.fanout!.highestHeldRate : null]),
  );
  const ingestRate = Object.fromEntries(
    targetNames.map((name) => [name, pick(name)?.ingest && !pick(name)!.ingest!.error ? pick(name)!.ingest!.rate : null]),
  );
  const comparison: BenchResults['comparison'] = {
    fanoutHighest,
    fanoutRatioToRabbit: share(fanoutHighest.service, fanoutHighest.rabbitmq),
    fanoutRatioToCeiling: share(fanoutHighest.service, fanoutHighest.ceiling),
    ingestRate,
    ingestRatioToRabbit: share(ingestRate.service, ingestRate.rabbitmq),
    ingestRatioToCeiling: share(ingestRate.service, ingestRate.ceiling),
  };
  const finishedAt = new Date();
  const cpu = cpus();
  const results: BenchResults = {
    kind: smoke ? 'smoke' : 'full',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      memoryGiB: round(totalmem() / 1024 ** 3, 1),
      node: process.version,
      kernel: release(),
      loadAverageStart,
      loadAverageEnd: loadavg().map((value) => round(value, 2)),
    },
    options: { fanout: fanoutOptions, ingest: ingestOptions, connections: connectionsOptions, workers, plan },
    targets,
    comparison,
    goals: checkGoals(targets, comparison),
  };

  const stamp = startedAt.toISOString().slice(0, 16).replace(/[:T]/g, '-');
  const base = join(outDir, smoke ? `smoke-${stamp}` : stamp);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.svg`, renderLatencyPlot(results, fanoutOptions.maxP99Ms));
  writeFileSync(`${base}.md`, renderMarkdown(results, `${stamp.length ? base.split('/').at(-1) : ''}.svg`));
  log(`wrote ${relative(process.cwd(), base)}.{json,md,svg}`);
  for (const goal of results.goals) log(`  ${goal.met === null ? '–' : goal.met ? 'met   ' : 'MISSED'} ${goal.goal}: ${goal.measured}`);
  if (targets.some((target) => target.error && target.name !== 'rabbitmq')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
