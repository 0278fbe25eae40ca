import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConsumerLagTracker } from './consumer-lag.js';

/** What the instance's sockets look like right now; read on every scrape, never counted by hand. */
export interface SocketView {
  /** Open WebSocket connections on /ws. */
  open(): number;
  /** Of those, STOMP sessions past CONNECTED. */
  connected(): number;
}

export interface ConsumedRecordLike {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
}

// Chat latencies live between a millisecond and a few seconds; the top buckets catch stalls.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every metric of one app instance, in a Registry of its own: two instances in one process (the
 * cross-instance tests) must not share or clash over prom-client's global registry.
 *
 * Feature modules know nothing of this file: they expose hooks (realtime, publisher, pipeline,
 * consumer runner), and app.ts plugs these handlers into them.
 */
export function createMetrics(options: { prefix?: string; defaultMetrics?: boolean } = {}) {
  const prefix = options.prefix ?? 'chat_';
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  let sockets: SocketView | undefined;
  let lag: ConsumerLagTracker | undefined;

  new Gauge({
    name: `${prefix}websocket_connections`,
    help: 'Open WebSocket connections on /ws',
    registers: [registry],
    collect() {
      this.set(sockets?.open() ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}stomp_sessions`,
    help: 'STOMP sessions past CONNECTED',
    registers: [registry],
    collect() {
      this.set(sockets?.connected() ?? 0);
    },
  });
  const connectionsTotal = new Counter({
    name: `${prefix}stomp_connects_total`,
    help: 'STOMP sessions that reached CONNECTED',
    registers: [registry],
  });
  const frames = new Counter({
    name: `${prefix}stomp_frames_total`,
    help: 'STOMP frames by direction (in: from clients, out: to clients) and command; heart-beats excluded',
    labelNames: ['direction', 'command'],
    registers: [registry],
  });
  const rejections = new Counter({
    name: `${prefix}stomp_rejections_total`,
    help: 'Refused client actions by reason: SEND rejections (rate_limited, validation, forbidden, unavailable) and protocol/limit violations',
    labelNames: ['reason'],
    registers: [registry],
  });
  const readPauses = new Counter({
    name: `${prefix}stomp_read_pauses_total`,
    help: 'Times a STOMP session stopped reading its socket until its queued frames drained (back-pressure)',
    registers: [registry],
  });
  const produceLatency = new Histogram({
    name: `${prefix}kafka_produce_duration_seconds`,
    help: 'Time from handing a chat message to the producer to the broker acknowledging it (acks=all)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}kafka_consumer_lag`,
    help: 'Records not yet processed by this instance, per consumer group and owned partition (high watermark - next offset)',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      // Reset first, so partitions that moved to another instance stop being reported here.
      this.reset();
      if (!lag) return;
      for (const sample of await lag.sample()) {
        this.set({ group: sample.group, topic: sample.topic, partition: String(sample.partition) }, sample.lag);
      }
    },
  });
  const consumeLatency = new Histogram({
    name: `${prefix}kafka_consume_latency_seconds`,
    help: 'Kafka record timestamp to the record being processed and committed, per consumer group',
    labelNames: ['group'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const consumed = new Counter({
    name: `${prefix}kafka_records_processed_total`,
    help: 'Records processed and committed, per consumer group',
    labelNames: ['group'],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: `${prefix}kafka_dead_letters_total`,
    help: 'Records published to a dead-letter topic after their retries ran out',
    labelNames: ['group', 'topic'],
    registers: [registry],
  });
  const deliveryLatency = new Histogram({
    name: `${prefix}delivery_latency_seconds`,
    help: 'End to end: message timestamp (set when it is produced to Kafka) to the MESSAGE frames being written to local subscribers',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  return {
    registry,

    /** Late binding: the sockets and consumers exist only after the metrics were handed to them. */
    observe(sources: { sockets?: SocketView; consumerLag?: ConsumerLagTracker }) {
      sockets = sources.sockets ?? sockets;
      lag = sources.consumerLag ?? lag;
    },

    /** For createRealtime's hooks. */
    realtime: {
      onConnected: () => connectionsTotal.inc(),
      onFrame: (direction: 'in' | 'out', command: string) => frames.inc({ direction, command }),
      onRejected: (reason: string) => rejections.inc({ reason }),
      onReadPaused: () => readPauses.inc(),
      onDelivered: (_destination: string, count: number, payload?: Buffer) => {
        if (count === 0) return;
        frames.inc({ direction: 'out', command: 'MESSAGE' }, count);
        const sentAt = payload ? messageTimestamp(payload) : undefined;
        if (sentAt !== undefined) deliveryLatency.observe(Math.max(0, Date.now() - sentAt) / 1000);
      },
    },

    /** For the message publisher. */
    onProduced: (latencyMs: number) => produceLatency.observe(latencyMs / 1000),

    /** For the message pipeline / consumer runners. */
    pipeline: {
      onBatchDone: (group: string, records: ConsumedRecordLike[], batch?: { highWatermark?: string }) => {
        const last = records.at(-1);
        if (!last) return;
        const now = Date.now();
        for (const record of records) {
          if (Number.isFinite(record.timestamp) && record.timestamp > 0)
            consumeLatency.observe({ group }, Math.max(0, now - record.timestamp) / 1000);
        }
        consumed.inc({ group }, records.length);
        lag?.recordBatch(group, last.topic, last.partition, last.offset, batch?.highWatermark);
      },
      onDeadLetter: (group: string, record: ConsumedRecordLike) => deadLetters.inc({ group, topic: record.topic }),
    },

    /** Times every HTTP request; the route label is the pattern, never the raw URL, so it stays bounded. */
    registerHttp(app: FastifyInstance): void {
      app.addHook('onResponse', async (request, reply) => {
        httpDuration.observe(
          { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
          reply.elapsedTime / 1000,
        );
      });
    },

    contentType: registry.contentType,
    render: () => registry.metrics(),
    /** Current values as JSON, for /actuator/metrics. */
    snapshot: () => registry.getMetricsAsJSON(),
  };
}

/** The `timestamp` of a chat message payload, in epoch ms; undefined for anything else. */
function messageTimestamp(payload: Buffer): number | undefined {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as { timestamp?: unknown };
    if (typeof parsed.timestamp !== 'string') return undefined;
    const at = Date.parse(parsed.timestamp);
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}

export type AppMetrics = ReturnType<typeof createMetrics>;
