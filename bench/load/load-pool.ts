/**
 * The orchestrator's handle on its load workers: connections are dealt out round-robin by key,
 * and every command goes to every worker with its share. Workers are processes rather than
 * threads: each has its own open-files limit (the hard limit here is 20,000 per process, which a
 * single process holding 20,000 client sockets would hit) and its own event loop and heap.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientSpec, FanoutDrainResult, FanoutStartResult, IngestResult, OpenResult, WorkerCommand, WorkerReply } from './protocol.js';

/** Omit distributed over the union, so each command keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What the orchestrator passes for one command: its fields, less the ones the pool fills in. */
type CommandOptions<C extends WorkerCommand['cmd']> = Omit<Extract<WorkerCommand, { cmd: C }>, 'cmd' | 'id'>;

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

class LoadWorker {
  private readonly worker: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor() {
    // Structured-clone IPC ('advanced') carries latency samples as Float64Arrays, not JSON.
    this.worker = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(new Error(reply.error));
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code, signal) => fail(new Error(`load worker exited (${signal ?? code})`)));
  }

  call<T>(command: WithoutId<WorkerCommand>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(new Error(`load worker failed: ${this.failure.message}`));
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.send({ ...command, id });
    });
  }

  get pid(): number | undefined {
    return this.worker.pid;
  }

  terminate(): Promise<void> {
    if (this.worker.exitCode !== null || this.worker.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      // Closing the IPC channel lets the worker exit by itself (and write a --cpu-prof profile).
      const timer = setTimeout(() => this.worker.kill('SIGTERM'), 3_000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.disconnect();
    });
  }
}

export class LoadPool {
  private readonly workers: LoadWorker[];

  constructor(size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new LoadWorker());
  }

  get size(): number {
    return this.workers.length;
  }

  /** The worker processes, so their CPU time counts as the load generator's. */
  pids(): number[] {
    return this.workers.map((worker) => worker.pid).filter((pid): pid is number => pid !== undefined);
  }

  private owner(key: number): number {
    return key % this.workers.length;
  }

  private share<T extends { key: number }>(items: T[]): T[][] {
    const shares: T[][] = this.workers.map(() => []);
    for (const item of items) shares[this.owner(item.key)]!.push(item);
    return shares;
  }

  async open(clients: ClientSpec[], options: { concurrency: number; timeoutMs: number }): Promise<OpenResult & { elapsedMs: number }> {
    const startedAt = performance.now();
    const shares = this.share(clients);
    const perWorker = Math.max(1, Math.ceil(options.concurrency / this.workers.length));
    const results = await Promise.all(
      this.workers.map((worker, index) =>
        worker.call<OpenResult>({ cmd: 'open', clients: shares[index]!, concurrency: perWorker, timeoutMs: options.timeoutMs }),
      ),
    );
    return {
      opened: results.reduce((sum, result) => sum + result.opened, 0),
      failed: results.reduce((sum, result) => sum + result.failed, 0),
      errors: results.flatMap((result) => result.errors).slice(0, 10),
      connectMs: results.flatMap((result) => result.connectMs),
      elapsedMs: performance.now() - startedAt,
    };
  }

  async fanoutStep(
    options: CommandOptions<'fanout-start'> & { drainMs: number },
  ): Promise<{ sent: Record<number, number>; startedAtMicros: number; sendElapsedMs: number; drain: FanoutDrainResult }> {
    const { drainMs, ...start } = options;
    const publisherShares = this.share(start.publishers);
    const subscriberShares = this.share(start.subscribers);
    const started = await Promise.all(
      this.workers.map((worker, index) =>
        worker.call<FanoutStartResult>({
          cmd: 'fanout-start',
          ...start,
          publishers: publisherShares[index]!,
          subscribers: subscriberShares[index]!,
        }),
      ),
    );
    const sent = Object.assign({}, ...started.map((result) => result.sent)) as Record<number, number>;
    const drains = await Promise.all(
      this.workers.map((worker) => worker.call<FanoutDrainResult>({ cmd: 'fanout-drain', step: start.step, sent, timeoutMs: drainMs })),
    );
    return {
      sent,
      startedAtMicros: Math.min(...started.map((result) => result.startedAtMicros)),
      sendElapsedMs: Math.max(...started.map((result) => result.elapsedMs)),
      drain: {
        latencies: concatenated(drains.map((drain) => drain.latencies)),
        expected: drains.reduce((sum, drain) => sum + drain.expected, 0),
        unique: drains.reduce((sum, drain) => sum + drain.unique, 0),
        duplicates: drains.reduce((sum, drain) => sum + drain.duplicates, 0),
        stale: drains.reduce((sum, drain) => sum + drain.stale, 0),
        lastReceiveMicros: Math.max(...drains.map((drain) => drain.lastReceiveMicros)),
        closedSockets: drains.reduce((sum, drain) => sum + drain.closedSockets, 0),
        errors: drains.flatMap((drain) => drain.errors).slice(0, 10),
      },
    };
  }

  async ingest(options: CommandOptions<'ingest'>): Promise<IngestResult> {
    const shares = this.share(options.publishers);
    const results = await Promise.all(
      this.workers.map((worker, index) => worker.call<IngestResult>({ cmd: 'ingest', ...options, publishers: shares[index]! })),
    );
    const active = results.filter((result) => result.sent > 0);
    return {
      sent: results.reduce((sum, result) => sum + result.sent, 0),
      receipts: results.reduce((sum, result) => sum + result.receipts, 0),
      errors: results.flatMap((result) => result.errors).slice(0, 10),
      firstSendMicros: Math.min(...active.map((result) => result.firstSendMicros)),
      lastReceiptMicros: Math.max(...active.map((result) => result.lastReceiptMicros)),
      receiptLatencies: concatenated(results.map((result) => result.receiptLatencies)),
    };
  }

  /** WebSocket messages received so far by all workers. */
  async received(): Promise<number> {
    const counts = await Promise.all(this.workers.map((worker) => worker.call<number>({ cmd: 'received' })));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Waits until nothing has arrived for `quietMs` (a target working off a backlog), at most `timeoutMs`. */
  async waitQuiet(quietMs = 1_000, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.received();
    let quietSince = Date.now();
    while (Date.now() < deadline && Date.now() - quietSince < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const now = await this.received();
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      }
    }
  }

  async closeAll(): Promise<number> {
    const closed = await Promise.all(this.workers.map((worker) => worker.call<number>({ cmd: 'close' })));
    return closed.reduce((sum, count) => sum + count, 0);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

function concatenated(parts: Float64Array[]): Float64Array {
  const whole = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}
