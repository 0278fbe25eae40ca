/**
 * One STOMP connection's state machine (SPEC §6, STOMP 1.2 "Connecting", "Client Frames",
 * "Server Frames", "Heart-beating").
 *
 * Invariants:
 * - Nothing but CONNECT/STOMP is processed before CONNECTED has been sent (CVE-2023-32081 was a
 *   server that did otherwise); a second CONNECT is an error.
 * - Frames are handled one at a time, in arrival order. A SEND is handed on (to Kafka) in that
 *   order too; only its acknowledgement runs concurrently, so a client's messages keep their
 *   order while several are in flight. A RECEIPT for a SEND goes out only once it is durable.
 * - Fatal problems (protocol errors, bad auth, unknown commands or destinations, limits) get one
 *   ERROR frame and a close. Rejections a well-behaved client meets in normal use (rate limit,
 *   invalid message body, not a member, Kafka unavailable) go to `/user/queue/errors` when the
 *   session subscribed to it, and are fatal ERRORs when it did not, so no SEND is met with silence.
 * - Every write checks the socket's backlog: a client that does not read is cut off, not buffered.
 * - Heart-beats are what the client asks for, raised to a floor (the server can beat that often,
 *   so the spec's MAX() lands on the client's value); a connection still without CONNECTED at its
 *   deadline is refused, and so is a frame not complete `frameTimeoutMs` after its first byte.
 *   heartbeat-monitor.ts runs these clocks.
 * - A SEND RECEIPT means durable; a DISCONNECT RECEIPT follows the RECEIPTs of the SENDs before it.
 * - Nothing a client sends is evaluated; headers are only compared and parsed as data.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  createStompParser,
  header,
  headerEscaping,
  headerIgnoringCase,
  isStompProtocolError,
  negotiateHeartbeat,
  negotiateVersion,
  parseHeartbeat,
  serializeFrame,
  type HeaderEscaping,
  type StompFrame,
  type StompParser,
  type StompParserLimits,
  type StompVersion,
} from '../stomp/index.js';
import { bearerToken } from '../auth/tokens.js';
import {
  parseSendDestination,
  parseSubscribeDestination,
  USER_ERRORS_QUEUE,
  type Destination,
} from './destinations.js';
import type { Subscriber, SubscriptionRegistry } from './subscription-registry.js';

export interface SessionTransport {
  send(frame: Buffer): void;
  close(code: number, reason: string): void;
  terminate(): void;
  bufferedAmount(): number;
  /** A transport-level liveness probe (WebSocket ping); the answer is reported with `markAlive`. */
  ping?(): void;
}

export interface SessionUser {
  userId: number;
  email: string;
  nickname: string;
}

export interface SessionLimits {
  parser: Partial<StompParserLimits>;
  maxSubscriptions: number;
  /** Frames accepted but not yet handled; a client that floods past this is cut off. */
  maxPendingFrames: number;
  /** Bytes queued on the socket beyond which the client counts as not reading. */
  maxBufferedBytes: number;
  /**
   * The shortest heart-beat interval either way. The server can send and receive as often as
   * this, so a client's `heart-beat` is honoured as asked, only raised to this floor.
   */
  heartbeatFloorMs: number;
  /** A connection that has not completed CONNECT within this is refused. */
  connectTimeoutMs: number;
  /** How long a closing session waits for the RECEIPTs of SENDs still in flight (Kafka down). */
  maxReceiptWaitMs: number;
  /**
   * A frame must arrive whole within this of its first byte. Without it a client that sends half
   * a frame and then a byte now and then (slowloris), or none while answering pings, holds its
   * session and its buffered bytes forever.
   */
  frameTimeoutMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  parser: {},
  maxSubscriptions: 100,
  maxPendingFrames: 256,
  maxBufferedBytes: 1024 * 1024,
  heartbeatFloorMs: 1_000,
  connectTimeoutMs: 10_000,
  maxReceiptWaitMs: 10_000,
  frameTimeoutMs: 30_000,
};

/** What a SEND handler returns once the message is handed on: `durable` settles when it is safe. */
export interface SendAccepted {
  durable: Promise<void>;
  /** Extra headers for the RECEIPT (e.g. the message key the server assigned). */
  receiptHeaders?: Record<string, string>;
}

export interface SessionServices {
  /** Resolves the user behind a token, or throws an UNAUTHORIZED AppError. */
  authenticate(token: string): Promise<SessionUser>;
  /** Throws a FORBIDDEN AppError when the user may not subscribe there. */
  authorizeSubscribe(user: SessionUser, destination: Destination): Promise<void>;
  /** Settles once messages for a newly subscribed destination reach this instance. */
  subscribed?(destination: Destination): Promise<void>;
  send(session: StompSession, destination: Destination, frame: StompFrame): Promise<SendAccepted>;
  onConnected?(session: StompSession): void;
  onClosed?(session: StompSession): void;
  onFrame?(direction: 'in' | 'out', command: string): void;
  onRejected?(reason: string): void;
}

export interface SessionOptions {
  id?: string;
  transport: SessionTransport;
  registry: SubscriptionRegistry;
  services: SessionServices;
  log: Logger;
  limits?: Partial<SessionLimits>;
  /** Token from the `access_token` query parameter, for clients that cannot set CONNECT headers. */
  queryToken?: string;
  serverName: string;
}

/** WebSocket close frames carry at most 123 bytes of reason (RFC 6455 §5.5); `ws` throws beyond. */
const MAX_CLOSE_REASON_BYTES = 123;

function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  let reason = '';
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character);
    if (bytes + size > MAX_CLOSE_REASON_BYTES - 3) break;
    reason += character;
    bytes += size;
  }
  return `${reason}…`;
}

/** A fatal session error: ERROR frame, then close. */
class FatalStompError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
    readonly closeCode = 1002,
  ) {
    super(message);
  }
}

type State = 'awaiting-connect' | 'connecting' | 'connected' | 'closing' | 'closed';

export class StompSession implements Subscriber {
  readonly id: string;
  user: SessionUser | undefined;
  version: StompVersion = '1.2';
  escape: HeaderEscaping = '1.2';
  heartbeat = { sendEveryMs: 0, expectEveryMs: 0 };
  readonly openedAt = Date.now();
  /** When a connection still without CONNECTED is refused. */
  readonly connectDeadline: number;
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  lastProbedAt = 0;
  /** When the first byte of a frame still incomplete arrived; undefined between frames. */
  private frameStartedAt: number | undefined;
  private draining = false;

  private state: State = 'awaiting-connect';
  private readonly parser: StompParser;
  private readonly limits: SessionLimits;
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private pendingFrames = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: SessionOptions) {
    this.id = options.id ?? randomUUID();
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
    this.connectDeadline = this.openedAt + this.limits.connectTimeoutMs;
    this.log = options.log.child({ session: this.id });
    this.parser = createStompParser({
      ...this.limits.parser,
      onFrame: (frame) => {
        this.frameStartedAt = undefined;
        this.adoptVersionEarly(frame);
        this.enqueue(frame);
      },
      onHeartbeat: () => {},
    });
  }

  /**
   * Frames pipelined behind CONNECT in the same chunk are parsed before CONNECT is handled, so the
   * parser must learn the version now: a 1.0 client's headers are not escaped.
   */
  private adoptVersionEarly(frame: StompFrame): void {
    if (this.state !== 'awaiting-connect' || this.pendingFrames > 0) return;
    if (frame.command !== 'CONNECT' && frame.command !== 'STOMP') return;
    try {
      this.parser.version = negotiateVersion(header(frame, 'accept-version'));
    } catch {
      // connect() refuses it with the same error.
    }
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }

  /** Still waiting for CONNECT or for its authentication. */
  get isConnecting(): boolean {
    return this.state === 'awaiting-connect' || this.state === 'connecting';
  }

  /** Bytes from the WebSocket, text or binary, any chunking. */
  receive(chunk: Buffer | string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastReceivedAt = Date.now();
    try {
      this.parser.push(chunk);
      // A frame left unfinished by this chunk began in it, unless it was already under way.
      if (this.parser.inFrame) this.frameStartedAt ??= this.lastReceivedAt;
    } catch (error) {
      if (isStompProtocolError(error)) {
        this.options.services.onRejected?.(`protocol:${error.code}`);
        this.fail(new FatalStompError(error.message));
      } else {
        this.log.error({ err: error }, 'stomp parser failed');
        this.fail(new FatalStompError('internal error', undefined, 1011));
      }
    }
  }

  /** Writes a whole frame, unless the client has stopped reading. */
  write(frame: Buffer): void {
    if (this.state === 'closed') return;
    const backlog = this.options.transport.bufferedAmount();
    if (backlog > this.limits.maxBufferedBytes) {
      this.log.warn({ backlog }, 'slow consumer: closing session');
      this.options.services.onRejected?.('slow-consumer');
      this.closed();
      this.options.transport.terminate();
      return;
    }
    this.lastSentAt = Date.now();
    this.options.transport.send(frame);
  }

  sendHeartbeat(): void {
    this.write(Buffer.from('\n'));
  }

  /** Asks the transport whether the peer is still there; false when it cannot ask. */
  probe(): boolean {
    if (this.state === 'closed' || !this.options.transport.ping) return false;
    this.lastProbedAt = Date.now();
    this.options.transport.ping();
    return true;
  }

  /** The peer answered a probe: it is alive even if it sends no STOMP heart-beats. */
  markAlive(): void {
    this.lastReceivedAt = Date.now();
  }

  /** Closes the WebSocket without an ERROR (server shutdown: 1001, silent peer, …). */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.closed();
    this.options.transport.close(code, closeReason(reason));
  }

  /** A frame has been arriving for longer than `frameTimeoutMs`. */
  frameOverdue(now: number): boolean {
    return this.frameStartedAt !== undefined && now - this.frameStartedAt > this.limits.frameTimeoutMs;
  }

  /** Refuses a client stuck in the middle of a frame: ERROR, then a policy close. */
  refuseIncompleteFrame(): void {
    if (this.state === 'closed') return;
    this.options.services.onRejected?.('frame-timeout');
    this.fail(new FatalStompError('frame not completed in time', `a frame must arrive whole within ${this.limits.frameTimeoutMs} ms of its first byte`, 1008));
  }

  /** Refuses a connection that never completed CONNECT: ERROR, then a policy close. */
  refuseUnconnected(message: string): void {
    if (!this.isConnecting) return;
    this.options.services.onRejected?.('connect-timeout');
    this.fail(new FatalStompError(message, undefined, 1008));
  }

  /** The transport is gone (the peer closed or the socket died). */
  transportClosed(): void {
    this.closed();
  }

  /** Settles once every frame received so far has been handled (a SEND: handed on, maybe not durable). */
  async framesHandled(): Promise<void> {
    let queue: Promise<void>;
    do {
      queue = this.queue;
      await queue;
    } while (queue !== this.queue);
  }

  /** Settles once every SEND handed on so far is durable or has failed (and been answered). */
  async drain(): Promise<void> {
    // From here on a SEND is refused rather than produced: its RECEIPT could not reach the client
    // before the socket closes, so the client resends it elsewhere instead.
    this.draining = true;
    await this.framesHandled();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Sends a per-session error to `/user/queue/errors`; false when the session is not subscribed. */
  private notifyUserError(error: AppError, frame: StompFrame): boolean {
    if (!this.options.registry.hasDestination(this, USER_ERRORS_QUEUE)) return false;
    const receipt = header(frame, 'receipt');
    const body = Buffer.from(
      JSON.stringify({
        code: error.code,
        message: error.message,
        destination: header(frame, 'destination') ?? null,
        receiptId: receipt ?? null,
        ...(error.details?.retryAfterSeconds !== undefined && { retryAfterSeconds: error.details.retryAfterSeconds }),
      }),
    );
    this.options.registry.deliver(USER_ERRORS_QUEUE, body, {
      only: this,
      headers: receipt ? { 'receipt-id': receipt } : undefined,
    });
    this.options.services.onFrame?.('out', 'MESSAGE');
    return true;
  }

  private enqueue(frame: StompFrame): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (this.pendingFrames >= this.limits.maxPendingFrames) {
      this.options.services.onRejected?.('too-many-pending-frames');
      this.fail(new FatalStompError('too many frames in flight'));
      return;
    }
    this.pendingFrames += 1;
    this.options.services.onFrame?.('in', frame.command);
    this.queue = this.queue.then(async () => {
      try {
        if (this.state === 'closing' || this.state === 'closed') return;
        await this.handle(frame);
      } catch (error) {
        this.fail(error, frame);
      } finally {
        this.pendingFrames -= 1;
      }
    });
  }

  private async handle(frame: StompFrame): Promise<void> {
    if (this.state === 'awaiting-connect') {
      if (frame.command !== 'CONNECT' && frame.command !== 'STOMP') {
        throw new FatalStompError('not connected', `${frame.command} before CONNECT`);
      }
      return this.connect(frame);
    }
    switch (frame.command) {
      case 'CONNECT':
      case 'STOMP':
        throw new FatalStompError('already connected');
      case 'SUBSCRIBE':
        return this.subscribe(frame);
      case 'UNSUBSCRIBE':
        return this.unsubscribe(frame);
      case 'SEND':
        return this.send(frame);
      case 'ACK':
      case 'NACK':
        // Subscriptions are auto-acknowledged; ACK/NACK are accepted for clients that send them anyway.
        return this.receipt(frame);
      case 'DISCONNECT':
        return this.disconnect(frame);
      case 'BEGIN':
      case 'COMMIT':
      case 'ABORT':
        throw new FatalStompError('transactions are not supported', `${frame.command} is not supported by this server`);
      default:
        throw new FatalStompError('unknown command', frame.command);
    }
  }

  private async connect(frame: StompFrame): Promise<void> {
    this.state = 'connecting';
    let version: StompVersion;
    let clientHeartbeat;
    try {
      version = negotiateVersion(header(frame, 'accept-version'));
      clientHeartbeat = parseHeartbeat(header(frame, 'heart-beat'));
    } catch (error) {
      throw new FatalStompError((error as Error).message);
    }
    // Set before authenticating, so a refusal is already written the way this client reads frames.
    this.version = version;
    this.parser.version = version;
    this.escape = headerEscaping(version, 'MESSAGE');
    const token =
      bearerToken(headerIgnoringCase(frame, 'authorization')) ??
      bearerToken(header(frame, 'passcode')) ??
      header(frame, 'passcode') ??
      this.options.queryToken;
    if (!token) throw new FatalStompError('authentication required', 'CONNECT must carry Authorization: Bearer <jwt>', 1008);
    try {
      this.user = await this.options.services.authenticate(token);
    } catch (error) {
      const message = error instanceof AppError ? error.message : 'authentication failed';
      throw new FatalStompError(message, undefined, 1008);
    }
    if (this.state !== 'connecting') return;

    const server = { outgoingMs: this.limits.heartbeatFloorMs, incomingMs: this.limits.heartbeatFloorMs };
    const negotiated = negotiateHeartbeat(clientHeartbeat, server, { floorMs: this.limits.heartbeatFloorMs });
    this.heartbeat = { sendEveryMs: negotiated.sendEveryMs, expectEveryMs: negotiated.expectEveryMs };
    this.state = 'connected';
    this.writeFrame('CONNECTED', {
      version,
      'heart-beat': negotiated.header,
      server: this.options.serverName,
      session: this.id,
      'user-name': String(this.user.userId),
    });
    this.log.debug({ userId: this.user.userId, version, heartbeat: this.heartbeat }, 'stomp connected');
    this.options.services.onConnected?.(this);
  }

  private async subscribe(frame: StompFrame): Promise<void> {
    const id = header(frame, 'id');
    const destinationName = header(frame, 'destination');
    if (!id) throw new FatalStompError('SUBSCRIBE requires an id header');
    if (!destinationName) throw new FatalStompError('SUBSCRIBE requires a destination header');
    const destination = parseSubscribeDestination(destinationName);
    if (!destination) throw new FatalStompError('unknown destination', destinationName);
    if (this.options.registry.countFor(this) >= this.limits.maxSubscriptions) {
      this.options.services.onRejected?.('too-many-subscriptions');
      throw new FatalStompError('too many subscriptions', `at most ${this.limits.maxSubscriptions} per session`);
    }
    try {
      await this.options.services.authorizeSubscribe(this.user!, destination);
    } catch (error) {
      if (error instanceof AppError) {
        this.options.services.onRejected?.('subscribe-forbidden');
        throw new FatalStompError(error.message, destinationName, 1008);
      }
      throw error;
    }
    if (this.state !== 'connected') return;
    if (!this.options.registry.add(this, id, destinationName)) {
      throw new FatalStompError('duplicate subscription id', id);
    }
    // The RECEIPT promises the client it will not miss what is sent next, so it waits until
    // this instance really receives the destination's traffic (the Redis SUBSCRIBE is confirmed).
    await this.options.services.subscribed?.(destination);
    this.receipt(frame);
  }

  private unsubscribe(frame: StompFrame): void {
    const id = header(frame, 'id');
    if (!id) throw new FatalStompError('UNSUBSCRIBE requires an id header');
    this.options.registry.remove(this, id);
    this.receipt(frame);
  }

  private async send(frame: StompFrame): Promise<void> {
    const destinationName = header(frame, 'destination');
    if (!destinationName) throw new FatalStompError('SEND requires a destination header');
    const destination = parseSendDestination(destinationName);
    if (!destination) throw new FatalStompError('unknown destination', destinationName);
    let accepted: SendAccepted;
    try {
      if (this.draining) throw new AppError('UNAVAILABLE', 'server is shutting down; reconnect and send again');
      accepted = await this.options.services.send(this, destination, frame);
    } catch (error) {
      return this.rejectSend(error, frame);
    }
    const durable = accepted.durable.then(
      () => this.receipt(frame, accepted.receiptHeaders),
      (error: unknown) => this.rejectSend(error, frame),
    );
    this.inFlight.add(durable);
    void durable.finally(() => this.inFlight.delete(durable));
  }

  private rejectSend(error: unknown, frame: StompFrame): void {
    if (!(error instanceof AppError)) {
      this.log.error({ err: error }, 'SEND failed');
      error = new AppError('UNAVAILABLE', 'message could not be sent');
    }
    const appError = error as AppError;
    this.options.services.onRejected?.(appError.code.toLowerCase());
    if (this.state === 'closing') {
      // An ERROR now would pre-empt the RECEIPT or ERROR the session is closing with; the missing
      // SEND RECEIPT says enough.
      this.notifyUserError(appError, frame);
      return;
    }
    if (this.state !== 'connected') return;
    if (this.notifyUserError(appError, frame)) return;
    // Fatal only because nobody listens on the error queue: the stream itself is sound, so the
    // SENDs accepted before this one still get their RECEIPTs before the ERROR, as on DISCONNECT.
    this.state = 'closing';
    void this.settleInFlight().then(() => this.fail(new FatalStompError(appError.message), frame));
  }

  /** Waits for the SENDs in flight to be answered, for at most `maxReceiptWaitMs`. */
  private async settleInFlight(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.limits.maxReceiptWaitMs);
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), bound]);
    clearTimeout(timer);
  }

  private async disconnect(frame: StompFrame): Promise<void> {
    this.state = 'closing';
    // The client's earlier SENDs get their RECEIPTs before the DISCONNECT's own.
    await this.settleInFlight();
    const receipt = header(frame, 'receipt');
    if (receipt) this.writeFrame('RECEIPT', { 'receipt-id': receipt });
    this.closed();
    this.options.transport.close(1000, 'disconnect');
  }

  private receipt(frame: StompFrame, extra?: Record<string, string>): void {
    const receipt = header(frame, 'receipt');
    // 'closing': a DISCONNECT is waiting for exactly these SEND receipts before its own.
    if (receipt && (this.state === 'connected' || this.state === 'closing')) this.writeFrame('RECEIPT', { 'receipt-id': receipt, ...extra });
  }

  private writeFrame(command: string, headers: Record<string, string>, body?: string): void {
    this.options.services.onFrame?.('out', command);
    this.write(serializeFrame(command, headers, body, { escape: headerEscaping(this.version, command) }));
  }

  private fail(error: unknown, frame?: StompFrame): void {
    if (this.state === 'closed') return;
    const fatal =
      error instanceof FatalStompError ? error : new FatalStompError('internal error', undefined, 1011);
    if (!(error instanceof FatalStompError)) this.log.error({ err: error }, 'stomp session failed');
    else this.log.debug({ reason: fatal.message, detail: fatal.detail }, 'stomp error');
    const receipt = frame ? header(frame, 'receipt') : undefined;
    const headers: Record<string, string> = { message: fatal.message, 'content-type': 'text/plain' };
    if (receipt) headers['receipt-id'] = receipt;
    try {
      this.writeFrame('ERROR', headers, fatal.detail ?? fatal.message);
      this.closed();
      this.options.transport.close(fatal.closeCode, closeReason(fatal.message));
    } catch (transportError) {
      // This runs inside socket and promise callbacks: a throw here would be unhandled.
      this.log.warn({ err: transportError }, 'closing a failed session: terminating the socket');
      this.closed();
      this.options.transport.terminate();
    }
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.options.registry.removeAll(this);
    this.options.services.onClosed?.(this);
  }
}
