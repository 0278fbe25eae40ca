/**
 * Ingest: C connections each keep W SENDs with a receipt outstanding for D seconds (closed loop:
 * the rate is whatever the target sustains). For the service a message counts once its RECEIPT
 * came back (Kafka acknowledged it) and its row is in PostgreSQL; for the other targets a RECEIPT
 * is all there is, and nothing is stored.
 */
import type { LoadPool } from '../load/load-pool.js';
import { monotonicMicros } from '../load/stomp-wire.js';
import { cpuSince, cpuSnapshot, type CpuUsage } from '../report/cpu.js';
import { round, summarize, type LatencySummary } from '../report/stats.js';
import type { Plan, Target } from '../targets/target.js';
import { clientSpec } from './clients.js';

export interface IngestOptions {
  connections: number;
  window: number;
  durationMs: number;
  bodyBytes: number;
  /** How long stored rows may trail the last RECEIPT before the run counts them missing. */
  storeTimeoutMs: number;
}

export interface IngestResult {
  connections: number;
  window: number;
  sent: number;
  receipts: number;
  /** Rows in PostgreSQL (service), or null where nothing is stored. */
  stored: number | null;
  receiptsPerSecond: number;
  /** Stored rows per second from the first SEND to the last row stored; null where nothing is stored. */
  storedPerSecond: number | null;
  /** The figure the run compares: stored/s for the service, RECEIPTs/s elsewhere. */
  rate: number;
  receiptLatency: LatencySummary | null;
  /** Every RECEIPT came back, no ERROR, and (service) every row is stored. */
  held: boolean;
  /** CPU seconds per process group from the first SEND until everything was acknowledged and stored. */
  cpu?: CpuUsage;
  errors: string[];
  error?: string;
}

export async function runIngest(
  target: Target,
  pool: LoadPool,
  plan: Plan,
  options: IngestOptions,
  keyBase: number,
): Promise<IngestResult> {
  const rooms = Array.from({ length: options.connections }, (_, index) => plan.rooms + index);
  const clients = rooms.map((_, index) => clientSpec(target, keyBase + index, { role: 'publisher', index }));
  const opened = await pool.open(clients, { concurrency: 50, timeoutMs: 20_000 });
  const empty: IngestResult = {
    connections: options.connections,
    window: options.window,
    sent: 0,
    receipts: 0,
    stored: null,
    receiptsPerSecond: 0,
    storedPerSecond: null,
    rate: 0,
    receiptLatency: null,
    held: false,
    errors: [],
  };
  if (opened.failed > 0) {
    await pool.closeAll();
    return { ...empty, error: `could not open ${opened.failed} connections: ${opened.errors.join('; ')}` };
  }
  try {
    const before = (await target.storedCount(rooms)) ?? 0;
    const owners = () => ({ target: target.pid(), generator: [process.pid, ...pool.pids()] });
    const cpuBefore = cpuSnapshot(owners());
    const outcome = await pool.ingest({
      durationMs: options.durationMs,
      bodyBytes: options.bodyBytes,
      window: options.window,
      drainMs: 30_000,
      publishers: clients.map((client, index) => ({ key: client.key, publisher: index, template: target.sendTemplate(rooms[index]!) })),
    });
    const receiptSeconds = (outcome.lastReceiptMicros - outcome.firstSendMicros) / 1e6;
    const result: IngestResult = {
      ...empty,
      sent: outcome.sent,
      receipts: outcome.receipts,
      receiptsPerSecond: round(outcome.receipts / receiptSeconds, 0),
      receiptLatency: summarize(outcome.receiptLatencies),
      errors: outcome.errors,
    };
    let storedAt = outcome.lastReceiptMicros;
    if (target.stores) {
      const deadline = Date.now() + options.storeTimeoutMs;
      let stored = ((await target.storedCount(rooms)) ?? 0) - before;
      storedAt = monotonicMicros();
      while (stored < outcome.receipts && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        stored = ((await target.storedCount(rooms)) ?? 0) - before;
        storedAt = monotonicMicros();
      }
      result.stored = stored;
      result.storedPerSecond = round(stored / ((storedAt - outcome.firstSendMicros) / 1e6), 0);
      result.rate = result.storedPerSecond;
    } else {
      result.rate = result.receiptsPerSecond;
    }
    result.cpu = cpuSince(cpuBefore, owners());
    result.held =
      outcome.receipts === outcome.sent && outcome.errors.length === 0 && (!target.stores || result.stored === outcome.receipts);
    return result;
  } finally {
    await pool.closeAll();
  }
}
