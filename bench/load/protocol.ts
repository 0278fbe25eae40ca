/** Messages between the orchestrator (bench/run.ts) and its load workers. */
import type { SendTemplate } from './stomp-wire.js';

/** One STOMP connection as a target wants it opened. */
export interface ClientSpec {
  key: number;
  url: string;
  protocols: string[];
  /** STOMP CONNECT headers (credentials). */
  connectHeaders: Record<string, string>;
  /** Spreads client sockets over several loopback addresses so ephemeral ports never run out. */
  localAddress?: string;
  subscribe?: { id: string; destination: string };
}

export interface PublisherSpec {
  key: number;
  publisher: number;
  template: SendTemplate;
}

export interface SubscriberSpec {
  key: number;
  /** Publishers sending to this subscriber's room, with the most messages each may send this step. */
  publishers: { publisher: number; capacity: number }[];
}

export type WorkerCommand =
  | { cmd: 'open'; id: number; clients: ClientSpec[]; concurrency: number; timeoutMs: number }
  | {
      cmd: 'fanout-start';
      id: number;
      step: number;
      durationMs: number;
      bodyBytes: number;
      /** Messages per second per publisher. */
      ratePerPublisher: number;
      publishers: PublisherSpec[];
      subscribers: SubscriberSpec[];
    }
  | { cmd: 'fanout-drain'; id: number; step: number; sent: Record<number, number>; timeoutMs: number }
  | { cmd: 'ingest'; id: number; durationMs: number; bodyBytes: number; window: number; publishers: PublisherSpec[]; drainMs: number }
  | { cmd: 'received'; id: number }
  | { cmd: 'close'; id: number };

export interface OpenResult {
  opened: number;
  failed: number;
  errors: string[];
  /** CONNECT → CONNECTED of each opened connection, ms. */
  connectMs: number[];
}

export interface FanoutStartResult {
  sent: Record<number, number>;
  /** Monotonic micros of the first SEND. */
  startedAtMicros: number;
  elapsedMs: number;
}

export interface FanoutDrainResult {
  /** End-to-end latency of every delivery, ms. */
  latencies: Float64Array;
  expected: number;
  unique: number;
  duplicates: number;
  /** Deliveries that arrived from an earlier step (late), not counted as this step's. */
  stale: number;
  /** Monotonic micros of the last delivery counted. */
  lastReceiveMicros: number;
  closedSockets: number;
  errors: string[];
}

export interface IngestResult {
  sent: number;
  receipts: number;
  errors: string[];
  firstSendMicros: number;
  lastReceiptMicros: number;
  /** SEND → RECEIPT of every acknowledged message, ms. */
  receiptLatencies: Float64Array;
}

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
