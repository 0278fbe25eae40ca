import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults, TargetResult } from '../../bench/report/results.js';

/**
 * Keeps the benchmark harness working: `npm run bench:smoke` (tiny sizes, all three targets,
 * every workload) must finish and write results whose figures make sense. Performance is judged
 * by the full `npm run bench`, side by side, never here.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
const SMOKE_TIMEOUT_MS = 150_000;

function runSmoke(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(join(ROOT, 'bench/bench.sh'), ['--smoke', '--out', outDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // SIGTERM lets the bench stop the service and ceiling it started before it exits.
    const timer = setTimeout(() => child.kill('SIGTERM'), SMOKE_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

function expectWorkloadsSane(target: TargetResult): void {
  expect(target.error, target.error).toBeUndefined();
  const fanout = target.fanout!;
  expect(fanout.error, fanout.error).toBeUndefined();
  expect(fanout.steps.length).toBeGreaterThan(0);
  for (const step of fanout.steps) {
    expect(step.lost, `${target.name} fan-out ${step.offeredRate}/s`).toBe(0);
    expect(step.closedSockets).toBe(0);
    expect(step.sent).toBeGreaterThan(0);
    expect(step.deliveredPerSecond).toBeGreaterThan(0);
    expect(step.latency!.p50).toBeGreaterThan(0);
    expect(step.latency!.p99).toBeGreaterThanOrEqual(step.latency!.p50);
  }
  const ingest = target.ingest!;
  expect(ingest.error, ingest.error).toBeUndefined();
  expect(ingest.held, ingest.errors.join('; ')).toBe(true);
  expect(ingest.receipts).toBe(ingest.sent);
  expect(ingest.rate).toBeGreaterThan(0);
  const connections = target.connections!;
  expect(connections.reached).toBe(connections.attempted);
  expect(connections.reached).toBeGreaterThan(0);
  expect(connections.connectPerSecond).toBeGreaterThan(0);
  expect(Number.isFinite(connections.rssPerConnectionKiB)).toBe(true);
}

describe('bench smoke', () => {
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it(
    'runs every workload against the service, RabbitMQ and the ceiling and writes sane results',
    async () => {
      const { code, output } = await runSmoke();
      expect(code, output).toBe(0);
      const files = readdirSync(outDir);
      const json = files.find((file) => /^smoke-.*\.json$/.test(file));
      expect(json, output).toBeDefined();
      expect(files).toContain(json!.replace(/\.json$/, '.md'));
      expect(readFileSync(join(outDir, json!.replace(/\.json$/, '.svg')), 'utf8')).toContain('<polyline');

      const results = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as BenchResults;
      expect(results.kind).toBe('smoke');
      expect(results.machine.loadAverageStart).toHaveLength(3);
      const byName = Object.fromEntries(results.targets.map((target) => [target.name, target]));
      expectWorkloadsSane(byName.service!);
      expectWorkloadsSane(byName.ceiling!);
      // The service's ingest means stored in PostgreSQL: every acknowledged SEND has its row.
      expect(byName.service!.ingest!.stored).toBe(byName.service!.ingest!.receipts);
      // RabbitMQ is a system service of this machine kind; where it is missing the run says why.
      if (byName.rabbitmq!.error) expect(byName.rabbitmq!.error).toMatch(/RabbitMQ|rabbitmq/);
      else expectWorkloadsSane(byName.rabbitmq!);
    },
    SMOKE_TIMEOUT_MS + 30_000,
  );
});
