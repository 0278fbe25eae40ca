import { isUtf8 } from 'node:buffer';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, wsUrl } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import {
  createStompParser,
  header,
  headerEscaping,
  SERVER_COMMANDS,
  serializeFrame,
  type StompFrame,
  type StompVersion,
} from '../../src/stomp/index.js';

/**
 * A live session fuzzer: seeded random and mutated frames over real WebSockets against a running
 * app. Each connection sends bursts of frames a well-behaved session survives, sometimes ending in
 * a hostile one, then a probe (ACK with a receipt) that shows whether the burst was handled.
 *
 * Invariants checked on every burst and connection:
 * - a burst of survivable frames is always answered (nothing hangs, nothing is dropped);
 * - a connection the server closes with 1002/1008 got an ERROR with a `message` header first,
 *   and no connection is ever closed as an internal error (1011) or abnormally (1006);
 * - no exception or rejection escapes anywhere in the process;
 * - afterwards every session and subscription is gone, memory is back near where it started,
 *   and a normal client still connects, subscribes, sends and receives.
 *
 * Replay a failure with STOMP_FUZZ_SEED=<seed> npx vitest run --project integration tests/integration/stomp-fuzz.test.ts
 */
const SEED = Number(process.env.STOMP_FUZZ_SEED ?? 0x57f022);
// The faults suite's long variant (npm run test:faults:long) runs 100,000.
const TARGET_FRAMES = Number(process.env.STOMP_FUZZ_FRAMES ?? 10_000);
const LANES = 6;

function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick, chance: (probability: number) => next() < probability };
}
type Random = ReturnType<typeof createRandom>;

const TEXT_PIECES = ['a', 'Z', '7', '-', '/', ' ', ':', '\\', '\n', '\r', '\t', 'é', '字', '😀', 'room.1', '\\n', '"', '{', '\u0001'];
const RESERVED_HEADERS = new Set(['content-length', 'id', 'destination', 'receipt', 'content-type', 'transaction']);

function randomText(random: Random, maxPieces: number): string {
  let text = '';
  for (let count = random.int(maxPieces + 1); count > 0; count -= 1) text += random.pick(TEXT_PIECES);
  return text;
}

function randomBytes(random: Random, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index += 1) bytes[index] = random.int(256);
  return bytes;
}

function randomHeaders(random: Random, version: StompVersion): [string, string][] {
  const headers: [string, string][] = [];
  for (let count = random.int(4); count > 0; count -= 1) {
    let name = randomText(random, 4) || 'x';
    if (version === '1.0') name = name.replaceAll(':', '_');
    if (RESERVED_HEADERS.has(name)) continue;
    headers.push([name, randomText(random, 8)]);
  }
  return headers;
}

interface Lane {
  user: SignedUpUser;
  memberRoom: number;
  foreignRoom: number;
}

/** What one live connection knows about itself, to keep its "survivable" frames survivable. */
interface ConnectionState {
  version: StompVersion;
  subscriptions: string[];
  nextId: number;
}

function survivableFrame(random: Random, lane: Lane, state: ConnectionState): Buffer {
  const escape = (command: string) => headerEscaping(state.version, command);
  const extra = randomHeaders(random, state.version);
  const receipt: [string, string][] = random.chance(0.3) ? [['receipt', `r-${random.int(1e6)}`]] : [];
  const roll = random.next();
  if (roll < 0.05) return Buffer.from(random.pick(['\n', '\r\n', '\n\n']));
  if (roll < 0.25) {
    // Under the cap of 100 with room for mutants that survived and subscribed untracked.
    if (state.subscriptions.length >= 80) {
      const id = state.subscriptions.shift()!;
      return serializeFrame('UNSUBSCRIBE', [['id', id], ...receipt, ...extra], undefined, { escape: escape('UNSUBSCRIBE') });
    }
    const id = `s${state.nextId++}`;
    state.subscriptions.push(id);
    const destination = random.pick([`/topic/room.${lane.memberRoom}`, '/topic/presence', '/user/queue/errors']);
    return serializeFrame('SUBSCRIBE', [['id', id], ['destination', destination], ...receipt, ...extra], undefined, {
      escape: escape('SUBSCRIBE'),
    });
  }
  if (roll < 0.35) {
    const id =
      random.chance(0.5) && state.subscriptions.length > 1
        ? state.subscriptions.splice(random.int(state.subscriptions.length - 1) + 1, 1)[0]!
        : `never-${random.int(1000)}`;
    return serializeFrame('UNSUBSCRIBE', [['id', id], ...receipt, ...extra], undefined, { escape: escape('UNSUBSCRIBE') });
  }
  if (roll < 0.45) {
    const command = random.pick(['ACK', 'NACK']);
    return serializeFrame(command, [['id', randomText(random, 6) || 'm'], ...receipt, ...extra], undefined, { escape: escape(command) });
  }
  // SENDs that are refused go to /user/queue/errors, which every fuzzed session subscribes to first.
  const destination = random.chance(0.9) ? '/app/chat.send' : '/app/chat.read';
  const body = random.pick([
    () => JSON.stringify({ roomId: lane.memberRoom, content: `fuzz ${randomText(random, 6)}x` }),
    () => JSON.stringify({ roomId: lane.foreignRoom, content: 'not my room' }),
    () => JSON.stringify({ roomId: lane.memberRoom, content: 'x'.repeat(4001) }),
    () => JSON.stringify({ roomId: -1, content: '' }),
    () => JSON.stringify({ roomId: lane.memberRoom, content: randomText(random, 5), type: randomText(random, 2) }),
    () => JSON.stringify({ roomId: lane.memberRoom, lastReadMessageId: random.int(100) }),
    () => randomText(random, 30),
    () => randomBytes(random, random.int(200)),
    () => '',
  ])();
  const bodyBytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (random.chance(0.2) && !bodyBytes.includes(0)) {
    // No content-length: the body runs to the first NULL.
    return Buffer.concat([
      serializeFrame('SEND', [['destination', destination], ...receipt, ...extra], undefined, { escape: escape('SEND') }).subarray(0, -1),
      bodyBytes,
      Buffer.from([0]),
    ]);
  }
  return serializeFrame('SEND', [['destination', destination], ...receipt, ...extra], bodyBytes, { escape: escape('SEND') });
}

const SPECIAL_INSERTS = [
  '\0',
  '\n',
  '\r',
  ':',
  '\\',
  '\\t',
  '\r\n\r\n',
  '\n\n',
  '\u00ff',
  '字',
  'content-length:5\n',
  'content-length:-1\n',
  'content-length:99999999999\n',
  'content-length:abc\n',
].map((text) => Buffer.from(text));
const INVALID_UTF8 = [Buffer.from([0xc3]), Buffer.from([0xff, 0xfe]), Buffer.from([0xed, 0xa0, 0x80])];

function mutate(random: Random, frame: Buffer): Buffer {
  let bytes = frame;
  for (let count = 1 + random.int(3); count > 0; count -= 1) {
    const at = random.int(bytes.length + 1);
    switch (random.int(7)) {
      case 0:
        bytes = Buffer.from(bytes);
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = random.int(256);
        break;
      case 1:
        bytes = Buffer.concat([bytes.subarray(0, at), random.pick(SPECIAL_INSERTS), bytes.subarray(at)]);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), random.pick(INVALID_UTF8), bytes.subarray(at)]);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + random.int(8))]);
        break;
      case 4:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.max(0, at - 8), at), bytes.subarray(at)]);
        break;
      case 5:
        // Cut short: the server must wait for the rest without hanging anything else.
        if (random.chance(0.3)) bytes = bytes.subarray(0, at);
        break;
      default:
        bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(random, 1 + random.int(16)), bytes.subarray(at)]);
    }
  }
  return bytes;
}

function hostileFrame(random: Random, lane: Lane, state: ConnectionState): Buffer {
  const escape = (command: string) => headerEscaping(state.version, command);
  switch (random.int(14)) {
    case 0:
      return randomBytes(random, 1 + random.int(300));
    case 1:
      return serializeFrame(
        'SUBSCRIBE',
        [
          ['id', `s${state.nextId++}`],
          ['destination', `/topic/room.${lane.foreignRoom}`],
        ],
        undefined,
        { escape: escape('SUBSCRIBE') },
      );
    case 2:
      return serializeFrame('SUBSCRIBE', [
        ['id', `s${state.nextId++}`],
        ['destination', random.pick(['/topic/room.0', '/queue/x', '/topic/room.1/..', '/app/chat.send', randomText(random, 6)])],
      ]);
    case 3:
      return serializeFrame(
        'SEND',
        [['destination', random.pick(['/app/chat.delete', '/topic/presence', randomText(random, 5)])]],
        Buffer.from('{}'),
      );
    case 4:
      return serializeFrame(random.pick(['CONNECT', 'STOMP']), [['accept-version', '1.2']]);
    case 5:
      return serializeFrame(random.pick(['BEGIN', 'COMMIT', 'ABORT']), [['transaction', 't1']]);
    case 6:
      return Buffer.from(
        `${random.pick(['send', 'SENDX', 'MESSAGE', 'CONNECTED', 'ERROR', 'RECEIPT', ' SEND', 'SEND '])}\ndestination:/app/chat.send\n\n\0`,
      );
    case 7:
      return Buffer.from(`SEND\ndestination:/app/chat.send\n${Array.from({ length: 40 }, (_, index) => `h${index}:v\n`).join('')}\n\0`);
    case 8:
      return Buffer.from(`SUBSCRIBE\nid:x\ndestination:/topic/presence\nlong:${'v'.repeat(9000)}\n\n\0`);
    case 9:
      return Buffer.from(
        `SEND\ndestination:/app/chat.send\ncontent-length:${random.pick(['70000', '-1', '1.5', ' 3', '', '0x10', '١٢'])}\n\n{}\0`,
      );
    case 10:
      return Buffer.from(`SUBSCRIBE\nid:x${state.nextId++}\ndestination:/topic/presence\ncontent-length:2\n\n{}\0`);
    case 11:
      return Buffer.from(`SEND\ndestination:/app/chat.send\nbad:${random.pick(['\\t', '\\', '\\x', '\\r\\'])}\n\n{}\0`);
    case 12:
      return state.subscriptions.length > 0
        ? serializeFrame('SUBSCRIBE', [
            ['id', state.subscriptions[0]!],
            ['destination', '/topic/presence'],
          ])
        : serializeFrame('SUBSCRIBE', [['destination', '/topic/presence']]);
    default: {
      // The mutant may survive and subscribe, so its id is used up; the tracked list stays as it was.
      const scratch = { ...state, subscriptions: [...state.subscriptions] };
      const frame = mutate(random, survivableFrame(random, lane, scratch));
      state.nextId = scratch.nextId;
      return frame;
    }
  }
}

/** Splits bytes into WebSocket messages at random points; text only where the piece is valid UTF-8. */
function chunks(random: Random, bytes: Buffer): { data: Buffer; binary: boolean }[] {
  const cuts = new Set<number>();
  for (let count = random.int(4); count > 0; count -= 1) cuts.add(1 + random.int(Math.max(1, bytes.length - 1)));
  const points = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const pieces: { data: Buffer; binary: boolean }[] = [];
  for (let index = 0; index + 1 < points.length; index += 1) {
    const data = bytes.subarray(points[index], points[index + 1]);
    if (data.length > 0) pieces.push({ data, binary: !isUtf8(data) || random.chance(0.5) });
  }
  return pieces;
}

type Outcome = 'answered' | 'closed' | 'timeout';

/** A raw client whose waits are event-driven, so thousands of bursts cost no polling delay. */
class FuzzSocket {
  readonly frames: StompFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  closedByUs = false;
  parseError: Error | undefined;
  private waiter: (() => void) | undefined;
  private readonly parser = createStompParser({ commands: SERVER_COMMANDS, onFrame: (frame) => this.frames.push(frame) });

  /** A 1.0 server writes headers unescaped, so the client must read them with the session version. */
  set version(version: StompVersion) {
    this.parser.version = version;
  }

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      try {
        this.parser.push(data);
      } catch (error) {
        this.parseError ??= error as Error;
      }
      this.waiter?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.waiter?.();
    });
    ws.on('error', () => {});
  }

  static async open(baseUrl: string, protocols: string[]): Promise<FuzzSocket> {
    const socket = new FuzzSocket(new WebSocket(wsUrl(baseUrl), protocols));
    await new Promise<void>((resolve, reject) => {
      socket.ws.once('open', () => resolve());
      socket.ws.once('close', (code) => reject(new Error(`closed before open: ${code}`)));
    });
    return socket;
  }

  send(bytes: Buffer, random: Random): void {
    for (const piece of chunks(random, bytes)) this.ws.send(piece.data, { binary: piece.binary });
  }

  /** Resolves when `done` holds ('answered'), the socket closes, or the time is up. */
  async until(done: () => boolean, timeoutMs: number): Promise<Outcome> {
    if (done()) return 'answered';
    if (this.closed) return 'closed';
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const finish = (outcome: Outcome) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(outcome);
      };
      this.waiter = () => {
        if (done()) finish('answered');
        else if (this.closed) finish('closed');
      };
    });
  }

  hasReceipt(id: string): boolean {
    return this.frames.some((frame) => frame.command === 'RECEIPT' && header(frame, 'receipt-id') === id);
  }

  closeFromClient(): void {
    this.closedByUs = true;
    this.ws.terminate();
  }
}

interface Tally {
  frames: number;
  bursts: number;
  connections: number;
  closes: Record<string, number>;
  errorMessages: Map<string, number>;
  incomplete: number;
  violations: string[];
}

const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '1000' });
let t: TestApp;
let alice: SignedUpUser;
let bob: SignedUpUser;
let sharedRoom: number;
const lanes: Lane[] = [];
const escaped: unknown[] = [];
const onEscaped = (error: unknown) => escaped.push(error);

async function directRoom(owner: SignedUpUser, other: SignedUpUser): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(owner.token),
    payload: { targetUserId: other.userId },
  });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json().roomId;
}

beforeAll(async () => {
  process.on('uncaughtException', onEscaped);
  process.on('unhandledRejection', onEscaped);
  t = await startTestApp(isolation);
  [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
  sharedRoom = await directRoom(alice, bob);
  for (let index = 0; index < LANES; index += 1) {
    const user = await signup(t.app);
    lanes.push({ user, memberRoom: await directRoom(user, alice), foreignRoom: sharedRoom });
  }
});
afterAll(async () => {
  process.off('uncaughtException', onEscaped);
  process.off('unhandledRejection', onEscaped);
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

/** A GC handle without restarting the worker with --expose-gc; undefined where V8 refuses. */
function gcHandle(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

async function connectForFuzz(
  random: Random,
  lane: Lane,
  tally: Tally,
): Promise<{ socket: FuzzSocket; state: ConnectionState } | undefined> {
  const protocols = random.pick([['v12.stomp', 'v11.stomp', 'v10.stomp'], ['v12.stomp'], ['v11.stomp', 'v10.stomp'], ['v10.stomp'], []]);
  const socket = await FuzzSocket.open(t.baseUrl, protocols);
  tally.connections += 1;
  const acceptVersion = random.pick(['1.2', '1.2,1.1,1.0', '1.1,1.0', '1.0', undefined]);
  const connectHeaders: [string, string][] = [
    ...(acceptVersion ? ([['accept-version', acceptVersion]] as [string, string][]) : []),
    ['host', 'chat'],
    // The client never promises heart-beats, so a slow burst cannot be mistaken for silence.
    ['heart-beat', random.pick(['0,0', '0,1000', '0,10000'])],
    random.chance(0.5) ? ['Authorization', `Bearer ${lane.user.token}`] : ['passcode', lane.user.token],
  ];
  let connect = serializeFrame(random.chance(0.8) ? 'CONNECT' : 'STOMP', connectHeaders);
  const hostileStart = random.next();
  if (hostileStart < 0.06) connect = mutate(random, connect);
  else if (hostileStart < 0.1) connect = hostileFrame(random, lane, { version: '1.2', subscriptions: [], nextId: 0 });
  socket.send(connect, random);
  tally.frames += 1;

  const outcome = await socket.until(() => socket.frames.some((frame) => frame.command === 'CONNECTED'), hostileStart < 0.1 ? 300 : 5000);
  if (outcome !== 'answered') {
    settle(socket, outcome, hostileStart < 0.1, tally, 'connect');
    return undefined;
  }
  const connected = socket.frames.find((frame) => frame.command === 'CONNECTED')!;
  const state: ConnectionState = { version: header(connected, 'version') as StompVersion, subscriptions: ['errors'], nextId: 0 };
  socket.version = state.version;
  socket.send(
    serializeFrame(
      'SUBSCRIBE',
      [
        ['id', 'errors'],
        ['destination', '/user/queue/errors'],
        ['receipt', 'errors-queue'],
      ],
      undefined,
      { escape: headerEscaping(state.version, 'SUBSCRIBE') },
    ),
    random,
  );
  tally.frames += 1;
  if ((await socket.until(() => socket.hasReceipt('errors-queue'), 5000)) !== 'answered') {
    tally.violations.push(`SUBSCRIBE /user/queue/errors unanswered (${JSON.stringify(socket.closed)})`);
    socket.closeFromClient();
    return undefined;
  }
  return { socket, state };
}

/** Records how a connection ended and checks the close invariants. */
function settle(socket: FuzzSocket, outcome: Outcome, hostile: boolean, tally: Tally, phase: string): void {
  if (socket.parseError) tally.violations.push(`${phase}: the server wrote an unparsable frame: ${socket.parseError.message}`);
  if (outcome === 'timeout') {
    if (!hostile) tally.violations.push(`${phase}: survivable frames left unanswered`);
    tally.incomplete += 1;
    socket.closeFromClient();
    return;
  }
  if (outcome !== 'closed' || !socket.closed) return;
  const { code } = socket.closed;
  tally.closes[code] = (tally.closes[code] ?? 0) + 1;
  const last = socket.frames.at(-1);
  if (code === 1002 || code === 1008) {
    if (last?.command !== 'ERROR' || !header(last, 'message')) tally.violations.push(`${phase}: close ${code} without an ERROR first`);
    else {
      const message = header(last, 'message')!;
      const kind = message.replace(/".*"|\d+/g, '…');
      tally.errorMessages.set(kind, (tally.errorMessages.get(kind) ?? 0) + 1);
      if (message === 'internal error') tally.violations.push(`${phase}: internal error`);
    }
  } else if (code !== 1000) {
    tally.violations.push(`${phase}: unexpected close ${code} ${socket.closed.reason}`);
  }
  if (!hostile && code !== 1000)
    tally.violations.push(`${phase}: survivable frames closed the connection: ${last ? header(last, 'message') : code}`);
}

async function runLane(laneIndex: number, tally: Tally): Promise<void> {
  const random = createRandom(SEED + laneIndex * 7919);
  const lane = lanes[laneIndex]!;
  let probe = 0;
  while (tally.frames < TARGET_FRAMES) {
    const connection = await connectForFuzz(random, lane, tally);
    if (!connection) continue;
    const { socket, state } = connection;
    for (;;) {
      const frames: Buffer[] = [];
      for (let count = 1 + random.int(8); count > 0; count -= 1) frames.push(survivableFrame(random, lane, state));
      const hostile = random.chance(0.2);
      if (hostile) frames.push(hostileFrame(random, lane, state));
      probe += 1;
      const probeId = `probe-${laneIndex}-${probe}`;
      frames.push(
        serializeFrame('ACK', [
          ['id', 'probe'],
          ['receipt', probeId],
        ]),
      );
      socket.send(Buffer.concat(frames), random);
      tally.frames += frames.length - 1;
      tally.bursts += 1;
      const outcome = await socket.until(() => socket.hasReceipt(probeId), hostile ? 300 : 10_000);
      if (outcome === 'answered' && tally.frames < TARGET_FRAMES) {
        // Keep what a long session accumulates bounded in the test itself.
        socket.frames.length = 0;
        continue;
      }
      if (outcome === 'answered') socket.closeFromClient();
      else settle(socket, outcome, hostile, tally, `lane ${laneIndex} burst ${tally.bursts}`);
      break;
    }
  }
}

describe('STOMP live-session fuzz', () => {
  it(
    `should survive ${TARGET_FRAMES} random and mutated frames over real WebSockets and keep serving`,
    async () => {
      const gc = gcHandle();
      gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const tally: Tally = { frames: 0, bursts: 0, connections: 0, closes: {}, errorMessages: new Map(), incomplete: 0, violations: [] };
      const started = Date.now();

      await Promise.all(Array.from({ length: LANES }, (_, index) => runLane(index, tally)));
      const elapsedMs = Date.now() - started;

      await waitFor(() => t.app.realtime.sessions.size === 0, { timeoutMs: 10_000, what: 'every fuzzed session closed' });
      expect(t.app.realtime.registry.destinations()).toEqual([]);
      gc?.();
      const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

      console.info(
        `stomp fuzz seed=${SEED}: ${tally.frames} frames in ${tally.bursts} bursts over ${tally.connections} connections in ${elapsedMs} ms; ` +
          `closes ${JSON.stringify(tally.closes)}, left incomplete ${tally.incomplete}; heap growth ${gc ? `${heapGrowthMiB.toFixed(1)} MiB` : 'not measured (no gc)'}; ` +
          `ERRORs: ${JSON.stringify(Object.fromEntries([...tally.errorMessages].sort((a, b) => b[1] - a[1]).slice(0, 12)))}`,
      );
      expect(tally.violations.slice(0, 10)).toEqual([]);
      expect(escaped).toEqual([]);
      expect(tally.frames).toBeGreaterThanOrEqual(TARGET_FRAMES);
      expect(tally.closes['1002'] ?? 0).toBeGreaterThan(100);
      if (gc) expect(heapGrowthMiB).toBeLessThan(64);

      const client = await connectStomp(t.baseUrl, alice.token);
      try {
        const topic = `/topic/room.${sharedRoom}`;
        await client.subscribe(topic);
        const receipt = await client.sendWithReceipt('/app/chat.send', { roomId: sharedRoom, content: 'still serving' });
        await waitFor(() => client.bodies<{ messageKey: string }>(topic).some((body) => body.messageKey === receipt['message-key']), {
          what: 'delivery after the fuzz',
        });
      } finally {
        await client.close();
      }
    },
    Math.max(120_000, TARGET_FRAMES * 12),
  );
});
