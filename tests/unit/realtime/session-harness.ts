import { pino } from 'pino';
import { expect } from 'vitest';
import { AppError, forbidden, unauthorized } from '../../../src/errors.js';
import {
  StompSession,
  type SendAccepted,
  type SessionLimits,
  type SessionServices,
  type SessionTransport,
  type SessionUser,
} from '../../../src/realtime/stomp-session.js';
import { SubscriptionRegistry } from '../../../src/realtime/subscription-registry.js';
import { createStompParser, header, SERVER_COMMANDS, serializeFrame, type StompFrame } from '../../../src/stomp/index.js';

/**
 * The socket seam: what the session writes is parsed back into frames as a client would see them.
 * It keeps the one rule of `ws` that bites a server: a close reason over 123 bytes throws.
 */
export class FakeSocket implements SessionTransport {
  readonly frames: StompFrame[] = [];
  heartbeats = 0;
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  buffered = 0;
  pings = 0;
  /** Whether the session stopped reading (back-pressure), and how often it did. */
  paused = false;
  pauses = 0;
  /** Every WebSocket peer answers a ping by itself; a half-open connection does not. */
  answerPings = true;
  onPong: (() => void) | undefined;
  private readonly parser = createStompParser({
    commands: SERVER_COMMANDS,
    onFrame: (frame) => this.frames.push(frame),
    onHeartbeat: () => {
      this.heartbeats += 1;
    },
  });

  /** Everything written, as the bytes went out. */
  readonly written: Buffer[] = [];

  send(frame: Buffer): void {
    if (this.closedWith || this.terminated) throw new Error('write after close');
    this.written.push(frame);
    this.parser.push(frame);
  }
  close(code: number, reason: string): void {
    if (Buffer.byteLength(reason) > 123) throw new SyntaxError('The message must not be greater than 123 bytes');
    this.closedWith ??= { code, reason };
  }
  terminate(): void {
    this.terminated = true;
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  ping(): void {
    this.pings += 1;
    if (this.answerPings) this.onPong?.();
  }
  pause(): void {
    this.paused = true;
    this.pauses += 1;
  }
  resume(): void {
    this.paused = false;
  }
  commands(): string[] {
    return this.frames.map((frame) => frame.command);
  }
  last(command: string): StompFrame {
    const frame = this.frames.findLast((candidate) => candidate.command === command);
    if (!frame) throw new Error(`no ${command} frame among ${this.commands().join(', ')}`);
    return frame;
  }
}

export interface Deferred {
  resolve(): void;
  reject(error: unknown): void;
  promise: Promise<void>;
}
export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

export const ALICE: SessionUser = { userId: 42, email: 'alice@example.com', nickname: 'alice' };
export const GOOD_TOKEN = 'good-token';

export function harness(
  options: {
    limits?: Partial<SessionLimits>;
    queryToken?: string;
    authenticate?: SessionServices['authenticate'];
    subscribed?: SessionServices['subscribed'];
    send?: SessionServices['send'];
    now?: () => number;
  } = {},
) {
  const socket = new FakeSocket();
  const registry = new SubscriptionRegistry('test-node');
  const sends: { body: string; durable: Deferred }[] = [];
  const rejected: string[] = [];
  let closedCalls = 0;
  const services: SessionServices = {
    authenticate:
      options.authenticate ??
      (async (token) => {
        if (token === GOOD_TOKEN) return ALICE;
        throw unauthorized('Invalid token');
      }),
    async authorizeSubscribe(_user, destination) {
      if (destination.kind === 'room' && destination.roomId !== 1) throw forbidden(`not a member of room ${destination.roomId}`);
    },
    subscribed: options.subscribed,
    send:
      options.send ??
      async function send(_session, _destination, frame): Promise<SendAccepted> {
        const body = frame.body.toString('utf8');
        if (body === 'invalid') throw new AppError('VALIDATION', 'content: must not be empty');
        if (body === 'limited')
          throw new AppError('RATE_LIMITED', 'rate limit exceeded: too many messages per second', { retryAfterSeconds: 1 });
        const durable = deferred();
        sends.push({ body, durable });
        return { durable: durable.promise, receiptHeaders: { 'message-key': `key-${sends.length}` } };
      },
    onClosed: () => {
      closedCalls += 1;
    },
    onRejected: (reason) => rejected.push(reason),
  };
  const session = new StompSession({
    id: 'session-1',
    transport: socket,
    registry,
    services,
    log: pino({ level: 'silent' }),
    limits: options.limits,
    queryToken: options.queryToken,
    serverName: 'chat-backend/test',
    now: options.now,
  });
  socket.onPong = () => session.markAlive();
  /** Pushes client frames and waits until the session has handled them. */
  const push = async (...chunks: (string | Buffer)[]) => {
    for (const chunk of chunks) session.receive(chunk);
    await session.framesHandled();
  };
  return { socket, registry, session, sends, rejected, push, closedCalls: () => closedCalls };
}

export const frame = (command: string, headers: Record<string, string> = {}, body?: string) => serializeFrame(command, headers, body);
export const connectFrame = (headers: Record<string, string> = {}) =>
  frame('CONNECT', { 'accept-version': '1.2,1.1,1.0', host: 'chat', Authorization: `Bearer ${GOOD_TOKEN}`, ...headers });

export async function connected(options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  await h.push(connectFrame({ 'heart-beat': '0,0' }));
  expect(h.socket.commands()).toEqual(['CONNECTED']);
  return h;
}

export function expectFatal(socket: FakeSocket, message: string | RegExp, closeCode?: number) {
  const error = socket.last('ERROR');
  expect(header(error, 'message')).toMatch(message);
  expect(socket.frames.at(-1)).toBe(error);
  expect(socket.closedWith).toBeDefined();
  if (closeCode !== undefined) expect(socket.closedWith!.code).toBe(closeCode);
  return error;
}
