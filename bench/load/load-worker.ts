/**
 * A load worker (a child process of the orchestrator, so its sockets count against its own
 * open-files limit rather than the orchestrator's): holds a share of the benchmark's STOMP connections and does what
 * the orchestrator asks with them: open, publish at a fixed rate while recording deliveries, or
 * push SENDs through a window of outstanding receipts. Everything on the hot path is string
 * concatenation and indexOf; nothing is parsed that the measurement does not need.
 */
import WebSocket from 'ws';
import type {
  ClientSpec,
  FanoutDrainResult,
  FanoutStartResult,
  IngestResult,
  OpenResult,
  SubscriberSpec,
  WorkerCommand,
  WorkerReply,
} from './protocol.js';
import {
  connectFrame,
  FrameSplitter,
  headerOf,
  markedContent,
  monotonicMicros,
  readMarker,
  sendFrame,
  subscribeFrame,
  type IncomingFrame,
} from './stomp-wire.js';

if (!process.send) throw new Error('load-worker must be started with an IPC channel (child_process.fork)');
const reply = (message: WorkerReply) => process.send!(message);
// The orchestrator is gone: nothing left to measure for.
process.on('disconnect', () => process.exit(0));

/** A growable Float64Array: millions of latency samples without boxing each number. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  take(): Float64Array {
    const out = this.data.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

interface SubscriberTrack {
  /** publisher → one byte per sequence number: 0 not seen, 1 seen. */
  seen: Map<number, Uint8Array>;
  unique: number;
}

interface Connection {
  key: number;
  ws: WebSocket;
  splitter: FrameSplitter;
  closingOnPurpose: boolean;
  onConnected?: () => void;
  onReceipt?: (receiptId: string, now: number) => void;
  onError?: (message: string) => void;
  track?: SubscriberTrack;
}

const connections = new Map<number, Connection>();
let closedSockets = 0;
/** Every WebSocket message received, late ones included: the orchestrator watches it go quiet. */
let received = 0;
const errors: string[] = [];
const noteError = (message: string) => {
  if (errors.length < 20) errors.push(message);
};

// Per fan-out step.
let currentStep = -1;
const latencies = new Samples();
let duplicates = 0;
let stale = 0;
let lastReceiveMicros = 0;

function onMessageFrame(connection: Connection, frame: IncomingFrame, now: number): void {
  const track = connection.track;
  if (!track) return;
  const marker = readMarker(frame.text, frame.bodyStart);
  if (!marker) return;
  if (marker.step !== currentStep) {
    stale += 1;
    return;
  }
  const seen = track.seen.get(marker.publisher);
  if (!seen || marker.seq >= seen.length) return;
  if (seen[marker.seq]) {
    duplicates += 1;
    return;
  }
  seen[marker.seq] = 1;
  track.unique += 1;
  latencies.push((now - marker.sentMicros) / 1000);
  lastReceiveMicros = now;
}

function dispatch(connection: Connection, frame: IncomingFrame, now: number): void {
  switch (frame.command) {
    case 'MESSAGE':
      onMessageFrame(connection, frame, now);
      return;
    case 'RECEIPT':
      connection.onReceipt?.(headerOf(frame, 'receipt-id') ?? '', now);
      return;
    case 'CONNECTED':
      connection.onConnected?.();
      return;
    case 'ERROR': {
      const message = headerOf(frame, 'message') ?? frame.text.slice(frame.bodyStart, frame.bodyStart + 200);
      noteError(`ERROR from target: ${message}`);
      connection.onError?.(message);
      return;
    }
    default:
      return;
  }
}

function openOne(spec: ClientSpec, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(spec.url, spec.protocols, {
      perMessageDeflate: false,
      localAddress: spec.localAddress,
      handshakeTimeout: timeoutMs,
    });
    const connection: Connection = { key: spec.key, ws, splitter: new FrameSplitter(), closingOnPurpose: false };
    let settled = false;
    let connectSentAt = 0;
    let connectMs = 0;
    const timer = setTimeout(() => fail('timed out'), timeoutMs);
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.onConnected = undefined;
      connection.onReceipt = undefined;
      connection.onError = undefined;
      connections.set(spec.key, connection);
      resolve(connectMs);
    };
    function fail(reason: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.closingOnPurpose = true;
      ws.terminate();
      reject(new Error(reason));
    }
    connection.onConnected = () => {
      connectMs = (monotonicMicros() - connectSentAt) / 1000;
      if (!spec.subscribe) return done();
      ws.send(subscribeFrame(spec.subscribe.id, spec.subscribe.destination, `sub-${spec.key}`));
    };
    connection.onReceipt = (receiptId) => {
      if (receiptId === `sub-${spec.key}`) done();
    };
    connection.onError = (message) => fail(`ERROR: ${message}`);
    ws.on('open', () => {
      connectSentAt = monotonicMicros();
      ws.send(connectFrame(spec.connectHeaders));
    });
    ws.on('message', (data: Buffer) => {
      received += 1;
      const now = monotonicMicros();
      connection.splitter.push(data, (frame) => dispatch(connection, frame, now));
    });
    ws.on('error', (error) => fail(error.message));
    ws.on('close', (code, reason) => {
      if (!settled) fail(`closed ${code} ${reason.toString()}`);
      else if (!connection.closingOnPurpose) {
        closedSockets += 1;
        noteError(`connection ${spec.key} closed by target: ${code} ${reason.toString()}`);
        connections.delete(spec.key);
      }
    });
  });
}

async function open(clients: ClientSpec[], concurrency: number, timeoutMs: number): Promise<OpenResult> {
  const result: OpenResult = { opened: 0, failed: 0, errors: [], connectMs: [] };
  let next = 0;
  const lane = async () => {
    while (next < clients.length) {
      const spec = clients[next++]!;
      // Opening is idempotent: after a step in which the target cut some clients off, opening the
      // whole set again brings back exactly those.
      if (connections.has(spec.key)) continue;
      try {
        result.connectMs.push(await openOne(spec, timeoutMs));
        result.opened += 1;
      } catch (error) {
        result.failed += 1;
        if (result.errors.length < 10) result.errors.push(`connection ${spec.key}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, clients.length)) }, lane));
  return result;
}

function connectionFor(key: number): Connection {
  const connection = connections.get(key);
  if (!connection) throw new Error(`connection ${key} is not open`);
  return connection;
}

/** Sends at `ratePerPublisher` from every publisher for `durationMs`, with the marker in every body. */
function fanoutStart(command: Extract<WorkerCommand, { cmd: 'fanout-start' }>): Promise<FanoutStartResult> {
  currentStep = command.step;
  latencies.take();
  duplicates = 0;
  stale = 0;
  for (const subscriber of command.subscribers) installTrack(subscriber);

  const publishers = command.publishers.map((spec) => ({ spec, connection: connectionFor(spec.key), sent: 0 }));
  const total = Math.round((command.ratePerPublisher * command.durationMs) / 1000);
  return new Promise((resolve) => {
    if (publishers.length === 0) {
      resolve({ sent: {}, startedAtMicros: monotonicMicros(), elapsedMs: 0 });
      return;
    }
    const startedAt = monotonicMicros();
    const tick = () => {
      const elapsedMs = (monotonicMicros() - startedAt) / 1000;
      const due = Math.min(total, Math.floor((command.ratePerPublisher * elapsedMs) / 1000));
      for (const publisher of publishers) {
        while (publisher.sent < due) {
          const content = markedContent(command.step, publisher.spec.publisher, publisher.sent, command.bodyBytes);
          publisher.connection.ws.send(sendFrame(publisher.spec.template, content));
          publisher.sent += 1;
        }
      }
      if (due >= total) {
        clearInterval(timer);
        resolve({
          sent: Object.fromEntries(publishers.map((publisher) => [publisher.spec.publisher, publisher.sent])),
          startedAtMicros: startedAt,
          elapsedMs: (monotonicMicros() - startedAt) / 1000,
        });
      }
    };
    const timer = setInterval(tick, 2);
    tick();
  });
}

function installTrack(subscriber: SubscriberSpec): void {
  const connection = connections.get(subscriber.key);
  if (!connection) return;
  connection.track = {
    seen: new Map(subscriber.publishers.map(({ publisher, capacity }) => [publisher, new Uint8Array(capacity)])),
    unique: 0,
  };
}

/** Waits until every tracked subscriber has every message its room's publishers sent, or the timeout. */
async function fanoutDrain(command: Extract<WorkerCommand, { cmd: 'fanout-drain' }>): Promise<FanoutDrainResult> {
  const tracked = [...connections.values()].filter((connection) => connection.track);
  const expectedOf = (connection: Connection) => {
    let sum = 0;
    for (const publisher of connection.track!.seen.keys()) sum += command.sent[publisher] ?? 0;
    return sum;
  };
  const expected = tracked.reduce((sum, connection) => sum + expectedOf(connection), 0);
  const uniqueNow = () => tracked.reduce((sum, connection) => sum + connection.track!.unique, 0);
  const deadline = Date.now() + command.timeoutMs;
  while (uniqueNow() < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const result: FanoutDrainResult = {
    latencies: latencies.take(),
    expected,
    unique: uniqueNow(),
    duplicates,
    stale,
    lastReceiveMicros,
    closedSockets,
    errors: errors.splice(0),
  };
  closedSockets = 0;
  for (const connection of tracked) connection.track = undefined;
  return result;
}

/**
 * Every publisher keeps `window` SENDs with a receipt outstanding until `durationMs` has passed,
 * then waits (at most `drainMs`) for the receipts still due.
 */
function ingest(command: Extract<WorkerCommand, { cmd: 'ingest' }>): Promise<IngestResult> {
  const receiptLatencies = new Samples();
  const result = { sent: 0, receipts: 0, errors: [] as string[], firstSendMicros: 0, lastReceiptMicros: 0 };
  return new Promise((resolve) => {
    const startedAt = monotonicMicros();
    result.firstSendMicros = startedAt;
    const endAt = startedAt + command.durationMs * 1000;
    let finished = false;
    let outstanding = 0;
    let drainTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(drainTimer);
      for (const spec of command.publishers) {
        const connection = connections.get(spec.key);
        if (connection) {
          connection.onReceipt = undefined;
          connection.onError = undefined;
        }
      }
      resolve({ ...result, errors: [...result.errors, ...errors.splice(0)], receiptLatencies: receiptLatencies.take() });
    };

    for (const spec of command.publishers) {
      const connection = connectionFor(spec.key);
      const sentAt: number[] = [];
      let seq = 0;
      let stopped = false;
      const sendOne = () => {
        const id = seq++;
        sentAt[id] = monotonicMicros();
        connection.ws.send(sendFrame(spec.template, markedContent(0, spec.publisher, id, command.bodyBytes), `i${id}`));
        result.sent += 1;
        outstanding += 1;
      };
      connection.onReceipt = (receiptId, now) => {
        const id = Number(receiptId.slice(1));
        const at = sentAt[id];
        if (receiptId[0] !== 'i' || at === undefined) return;
        receiptLatencies.push((now - at) / 1000);
        result.receipts += 1;
        result.lastReceiptMicros = now;
        outstanding -= 1;
        if (!stopped && now < endAt) sendOne();
        else if (outstanding === 0) finish();
      };
      connection.onError = (message) => {
        stopped = true;
        if (result.errors.length < 10) result.errors.push(message);
      };
      for (let i = 0; i < command.window; i += 1) sendOne();
    }
    // Stops the run even if receipts never come back; whatever is missing is reported.
    setTimeout(() => {
      if (outstanding === 0) finish();
      else drainTimer = setTimeout(finish, command.drainMs);
    }, command.durationMs + 10);
  });
}

function closeAll(): number {
  const count = connections.size;
  for (const connection of connections.values()) {
    connection.closingOnPurpose = true;
    connection.ws.terminate();
  }
  connections.clear();
  return count;
}

async function run(command: WorkerCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'open':
      return open(command.clients, command.concurrency, command.timeoutMs);
    case 'fanout-start':
      return fanoutStart(command);
    case 'fanout-drain':
      return fanoutDrain(command);
    case 'ingest':
      return ingest(command);
    case 'received':
      return received;
    case 'close':
      return closeAll();
  }
}

process.on('message', (command: WorkerCommand) => {
  run(command).then(
    (result) => reply({ id: command.id, ok: true, result }),
    (error: unknown) => reply({ id: command.id, ok: false, error: (error as Error).message }),
  );
});
