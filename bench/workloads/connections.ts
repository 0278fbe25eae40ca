/**
 * Connections: N authenticated STOMP connections, each subscribed to one room, then left idle
 * (heart-beat 0,0). Memory is the target's RSS (and heap) after minus before, per connection;
 * the connect rate is connections completed (CONNECT → CONNECTED → SUBSCRIBE receipt) per second
 * with a fixed number in flight.
 */
import type { LoadPool } from '../load/load-pool.js';
import { round, summarize, type LatencySummary } from '../report/stats.js';
import { roomOfSubscriber, type MemorySample, type Plan, type Target } from '../targets/target.js';
import { clientSpec } from './clients.js';

export interface ConnectionsOptions {
  connections: number;
  concurrency: number;
  /** Idle time before memory is read, so allocation spikes of the connect burst settle. */
  idleMs: number;
}

export interface ConnectionsResult {
  requested: number;
  /** Fewer than requested when the target says it cannot take more (RabbitMQ's socket budget). */
  attempted: number;
  reached: number;
  failed: number;
  /** The target process's open-files limit, which bounds `reached` from above. */
  targetOpenFiles: number | null;
  connectPerSecond: number;
  connectLatency: LatencySummary | null;
  before: MemorySample;
  after: MemorySample;
  rssPerConnectionKiB: number;
  heapPerConnectionKiB: number | null;
  errors: string[];
  error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runConnections(target: Target, pool: LoadPool, plan: Plan, options: ConnectionsOptions): Promise<ConnectionsResult> {
  await sleep(options.idleMs);
  const before = await target.memory();
  const subscribers = plan.rooms * plan.subscribersPerRoom;
  const count = Math.min(options.connections, target.maxConnections?.() ?? Number.POSITIVE_INFINITY);
  const clients = Array.from({ length: count }, (_, index) =>
    clientSpec(
      target,
      index,
      { role: 'subscriber', index: index % subscribers },
      target.subscribeDestination(roomOfSubscriber(plan, index % subscribers)),
    ),
  );
  try {
    const opened = await pool.open(clients, { concurrency: options.concurrency, timeoutMs: 60_000 });
    await sleep(options.idleMs);
    const after = await target.memory();
    const per = (delta: number) => round(delta / Math.max(1, opened.opened) / 1024, 2);
    return {
      requested: options.connections,
      attempted: count,
      reached: opened.opened,
      failed: opened.failed,
      targetOpenFiles: target.openFilesLimit?.() ?? null,
      connectPerSecond: round(opened.opened / (opened.elapsedMs / 1000), 0),
      connectLatency: summarize(opened.connectMs),
      before,
      after,
      rssPerConnectionKiB: per(after.rssBytes - before.rssBytes),
      heapPerConnectionKiB: after.heapBytes !== null && before.heapBytes !== null ? per(after.heapBytes - before.heapBytes) : null,
      errors: opened.errors,
    };
  } finally {
    await pool.closeAll();
  }
}
