import { describeCpu } from './cpu.js';
import type { BenchResults, TargetResult } from './results.js';

const number = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (value: number | null) => (value === null ? '–' : `${value.toFixed(2)}×`);
const mib = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '–' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`);

function fanoutRows(target: TargetResult): string[] {
  if (target.error) return [`| ${target.label} | – | – | – | – | – | – | – | – | did not run: ${target.error.split('\n')[0]} | |`];
  if (!target.fanout) return [];
  const failure = target.fanout.error
    ? [`| ${target.label} | – | – | – | – | – | – | – | – | ${target.fanout.error.replace(/\|/g, '/')} | |`]
    : [];
  const steps = target.fanout.steps.map((step) => {
    const latency = step.latency;
    return `| ${target.label} | ${number(step.offeredRate)}${step.rerun ? ' (rerun)' : ''} | ${number(step.sentRate)} | ${number(step.deliveredPerSecond)} | ${number(latency?.p50, 2)} | ${number(latency?.p90, 2)} | ${number(latency?.p99, 2)} | ${number(latency?.max, 1)} | ${number(step.lost)} | ${step.held ? 'held' : `**no**: ${step.reason}`} | ${describeCpu(step.cpu)} |`;
  });
  return [...steps, ...failure];
}

/** The results as one Markdown document: summary with ratios, then every measurement. */
export function renderMarkdown(results: BenchResults, plotFile: string): string {
  const options = results.options as {
    fanout: { rooms: number; subscribersPerRoom: number; publishers: number; stepMs: number; bodyBytes: number; maxP99Ms: number };
    ingest: { connections: number; window: number; durationMs: number };
    connections: { connections: number; concurrency: number };
  };
  const { machine, comparison } = results;
  const byName = Object.fromEntries(results.targets.map((target) => [target.name, target]));
  const lines: string[] = [];
  lines.push(`# Benchmark results: ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC (${results.kind})`);
  lines.push('');
  lines.push(
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}. ` +
      `Load average at start ${machine.loadAverageStart.join(' / ')}, at end ${machine.loadAverageEnd.join(' / ')} (1/5/15 min): ` +
      `every target, the load generator, Kafka, PostgreSQL and Redis share these cores. Run took ${results.durationSeconds} s.`,
  );
  lines.push('');
  lines.push(`![latency against offered load](${plotFile})`);
  lines.push('');
  lines.push('## Summary');
  lines.push('');
  lines.push('| | this service | RabbitMQ Web-STOMP | raw ws ceiling | service ÷ RabbitMQ | service ÷ ceiling |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  lines.push(
    `| fan-out: highest SEND/s holding p99 ≤ ${options.fanout.maxP99Ms} ms, 0 lost | ${number(comparison.fanoutHighest.service)} | ${number(comparison.fanoutHighest.rabbitmq)} | ${number(comparison.fanoutHighest.ceiling)} | ${ratio(comparison.fanoutRatioToRabbit)} | ${ratio(comparison.fanoutRatioToCeiling)} |`,
  );
  lines.push(
    `| ingest: messages/s (service: stored in PostgreSQL with RECEIPT; others: RECEIPT only, nothing stored) | ${number(comparison.ingestRate.service)} | ${number(comparison.ingestRate.rabbitmq)} | ${number(comparison.ingestRate.ceiling)} | ${ratio(comparison.ingestRatioToRabbit)} | ${ratio(comparison.ingestRatioToCeiling)} |`,
  );
  const connection = (name: string, pick: (result: NonNullable<TargetResult['connections']>) => string) => {
    const result = byName[name]?.connections;
    return result ? pick(result) : '–';
  };
  lines.push(
    `| idle connections reached (of ${number(options.connections.connections)}) | ${['service', 'rabbitmq', 'ceiling'].map((name) => connection(name, (result) => number(result.reached))).join(' | ')} | | |`,
  );
  lines.push(
    `| RSS per idle connection, KiB | ${['service', 'rabbitmq', 'ceiling'].map((name) => connection(name, (result) => number(result.rssPerConnectionKiB, 1))).join(' | ')} | | |`,
  );
  lines.push(
    `| heap per idle connection, KiB (RabbitMQ: Erlang VM memory) | ${['service', 'rabbitmq', 'ceiling'].map((name) => connection(name, (result) => number(result.heapPerConnectionKiB, 1))).join(' | ')} | | |`,
  );
  lines.push(
    `| connect rate, connections/s (${options.connections.concurrency} in flight) | ${['service', 'rabbitmq', 'ceiling'].map((name) => connection(name, (result) => number(result.connectPerSecond))).join(' | ')} | | |`,
  );
  lines.push('');
  lines.push("## The issue's targets");
  lines.push('');
  lines.push('| target | measured | met |');
  lines.push('| --- | --- | --- |');
  for (const goal of results.goals)
    lines.push(`| ${goal.goal} | ${goal.measured} | ${goal.met === null ? 'not measured' : goal.met ? 'yes' : '**no**'} |`);
  lines.push('');
  lines.push(
    `## Fan-out: ${options.fanout.rooms} rooms × ${options.fanout.subscribersPerRoom} subscribers, ${options.fanout.publishers} publishers, ${options.fanout.bodyBytes}-byte bodies, ${options.fanout.stepMs / 1000} s per step`,
  );
  lines.push('');
  lines.push('Latency is end to end, from the send timestamp in the body to the MESSAGE at the subscriber, in ms.');
  lines.push('');
  lines.push('| target | offered SEND/s | sent/s | delivered msg/s | p50 | p90 | p99 | max | lost | held | CPU seconds during the step |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const target of results.targets) lines.push(...fanoutRows(target));
  lines.push('');
  lines.push(
    `## Ingest: ${options.ingest.connections} connections × ${options.ingest.window} SENDs with a receipt outstanding, ${options.ingest.durationMs / 1000} s`,
  );
  lines.push('');
  lines.push(
    '| target | sent | RECEIPTs | stored rows | RECEIPTs/s | stored/s | RECEIPT p50 / p99 ms | all acknowledged (and stored) | CPU seconds |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const target of results.targets) {
    const ingest = target.ingest;
    if (!ingest) continue;
    const storedCell = ingest.stored === null ? 'not stored' : number(ingest.stored);
    const note = ingest.error ?? (ingest.held ? 'yes' : `**no** ${ingest.errors.slice(0, 2).join('; ')}`);
    lines.push(
      `| ${target.label} | ${number(ingest.sent)} | ${number(ingest.receipts)} | ${storedCell} | ${number(ingest.receiptsPerSecond)} | ${number(ingest.storedPerSecond)} | ${number(ingest.receiptLatency?.p50, 1)} / ${number(ingest.receiptLatency?.p99, 1)} | ${note} | ${describeCpu(ingest.cpu)} |`,
    );
  }
  lines.push('');
  lines.push(`## Connections: ${number(options.connections.connections)} idle STOMP connections, each subscribed to one room`);
  lines.push('');
  lines.push(
    '| target | reached | failed | connect/s | CONNECT→CONNECTED p50 / p99 ms | RSS before → after | RSS/conn KiB | heap/conn KiB |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
  for (const target of results.targets) {
    const result = target.connections;
    if (!result) continue;
    lines.push(
      `| ${target.label} | ${number(result.reached)} | ${number(result.failed)} | ${number(result.connectPerSecond)} | ${number(result.connectLatency?.p50, 1)} / ${number(result.connectLatency?.p99, 1)} | ${mib(result.before.rssBytes)} → ${mib(result.after.rssBytes)} | ${number(result.rssPerConnectionKiB, 1)} | ${number(result.heapPerConnectionKiB, 1)} |`,
    );
    if (result.errors.length) lines.push(`| | first errors: ${result.errors.slice(0, 3).join('; ').replace(/\|/g, '/')} | | | | | | |`);
  }
  lines.push('');
  lines.push('## Notes');
  lines.push('');
  for (const target of results.targets) for (const note of target.notes) lines.push(`- ${target.label}: ${note}`);
  lines.push('');
  return lines.join('\n');
}
