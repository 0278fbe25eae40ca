/**
 * One STOMP connection: its state machine and its inbound frame queue (SPEC §6; STOMP 1.2
 * "Connecting", "Client Frames", "Server Frames", "Heart-beating"). Command handlers, the SEND
 * tracker, the error policy, acknowledgements and the liveness clocks live in ./session/.
 *
 * Invariants:
 * - awaiting-connect → connecting → connected → closing → closed. Nothing but CONNECT/STOMP is
 *   handled before CONNECTED has been sent (CVE-2023-32081 was a server that did otherwise); a
 *   second CONNECT is an error.
 * - Frames are handled one at a time, in arrival order.
 * - What the session holds for its client is bounded in frames and bytes: past a high-water mark
 *   the socket is no longer read (TCP back-pressure), below a low-water mark it is read again
 *   (session/inbound-flow.ts). Passing a hard limit is an ERROR; nothing is dropped unsaid.
 * - Every write checks the socket's outbound backlog: a client that does not read is cut off,
 *   not buffered for.
 * - The session only reports to its liveness clock; heartbeat-monitor.ts reads it and calls
 *   `refuseUnconnected`, `refuseIncompleteFrame`, `expire`, `probe`, `sendHeartbeat` or `close`.
 * - A session ends at its token's expiry unless renewed (`/app/token.refresh`), and when its user
 *   is deleted (`revoke`).
 * - Nothing a client sends is evaluated; headers are only compared and parsed as data.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import {
  createStompParser,
  header,
  headerEscaping,
  isStompProtocolError,
  negotiateVersion,
  type HeaderEscaping,
  type StompFrame,
  type StompParser,
  type StompVersion,
} from '../stomp/index.js';
import { AckTracker } from './session/ack-tracker.js';
import { dispatch } from './session/dispatch.js';
import { sessionEnding, type SessionEnding } from './session/endings.js';
import {
  closeReason,
  createRejection,
  FatalStompError,
  frameRef,
  NO_FRAME,
  reportOnErrorQueue,
  toFatal,
  type FrameRef,
  type Reject,
} from './session/error-policy.js';
import { frameCost, InboundFlow } from './session/inbound-flow.js';
import { LivenessClock } from './session/liveness-clock.js';
import { Outbound } from './session/outbound.js';
import { SendTracker } from './session/send-tracker.js';
import type { NegotiatedHeartbeats, SessionContext } from './session/session-context.js';
import { DEFAULT_SESSION_LIMITS, type SessionLimits } from './session/session-limits.js';
import type { SessionServices, SessionState, SessionTransport, SessionUser } from './session/session-types.js';
import type { Subscriber, SubscriptionRegistry } from './subscription-registry.js';

export type { AuthenticatedUser, SendAccepted, SessionServices, SessionTransport, SessionUser } from './session/session-types.js';
export { DEFAULT_SESSION_LIMITS, type SessionLimits } from './session/session-limits.js';

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
  /** The clock the session's deadlines are measured on (epoch ms); tests pass their own. */
  now?: () => number;
}

export class StompSession implements Subscriber {
  readonly id: string;
  private state: SessionState = 'awaiting-connect';
  private currentUser: SessionUser | undefined;
  private currentVersion: StompVersion = '1.2';
  private currentEscape: HeaderEscaping = '1.2';
  private negotiated: NegotiatedHeartbeats = { sendEveryMs: 0, expectEveryMs: 0 };
  private draining = false;
  private queue: Promise<void> = Promise.resolve();

  private readonly limits: SessionLimits;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly out: Outbound;
  private readonly parser: StompParser;
  private readonly clock: LivenessClock;
  private readonly flow: InboundFlow;
  private readonly sends: SendTracker;
  private readonly acks: AckTracker;
  private readonly reject: Reject;
  private readonly context: SessionContext;

  constructor(private readonly options: SessionOptions) {
    this.id = options.id ?? randomUUID();
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
    this.log = options.log.child({ session: this.id });
    this.now = options.now ?? Date.now;
    this.clock = new LivenessClock(this.now, this.limits);
    this.out = new Outbound({
      ...options,
      clock: this.clock,
      log: this.log,
      maxBufferedBytes: this.limits.maxBufferedBytes,
      version: () => this.currentVersion,
      onSlowConsumer: () => this.closed(),
    });
    this.parser = createStompParser({
      ...this.limits.parser,
      onFrame: (frame) => this.enqueue(frame),
      onHeartbeat: () => this.clock.frameEnded(),
    });
    this.flow = new InboundFlow(this.limits, {
      pause: () => {
        this.clock.readingPaused();
        this.options.transport.pause?.();
        this.options.services.onReadPaused?.();
      },
      resume: () => {
        this.clock.readingResumed();
        this.options.transport.resume?.();
      },
      parse: (chunk) => this.parse(chunk),
    });
    this.sends = new SendTracker(this.flow);
    this.acks = new AckTracker(randomBytes(4).toString('hex'), this.limits.maxUnackedPerSubscription);
    this.reject = createRejection({
      state: () => this.state,
      reportToUser: (body, ref) => reportOnErrorQueue(options.registry, this, body, ref, options.services.onFrame),
      closeAfterInFlight: (error, ref) => this.closeAfterInFlight(error, ref),
      onRejected: options.services.onRejected,
      log: this.log,
    });
    this.context = this.createContext();
  }

  get user(): SessionUser | undefined {
    return this.currentUser;
  }

  get version(): StompVersion {
    return this.currentVersion;
  }

  /** Header escaping of MESSAGE frames for this client's version. */
  get escape(): HeaderEscaping {
    return this.currentEscape;
  }

  get heartbeat(): Readonly<NegotiatedHeartbeats> {
    return this.negotiated;
  }

  /** The clocks the heartbeat monitor reads. */
  get liveness(): LivenessClock {
    return this.clock;
  }

  /** Inbound back-pressure as it stands: paused or not, bytes held, the peak, pauses so far. */
  get inbound(): { paused: boolean; bytes: number; peakBytes: number; pauses: number } {
    return { paused: this.flow.isPaused, bytes: this.flow.heldBytes, peakBytes: this.flow.peakBytes, pauses: this.flow.pauses };
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
    this.clock.received();
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const admitted = this.flow.admit(bytes);
    if (admitted === 'parse') this.parse(bytes);
    else if (admitted === 'over-limit') this.refuseFlood();
  }

  /** Writes a whole frame, unless the client has stopped reading (then it is cut off). */
  write(frame: Buffer): void {
    if (this.state !== 'closed') this.out.write(frame);
  }

  /** The `ack` id of the next MESSAGE on a client-acknowledged subscription. */
  ackId(subscriptionId: string): string {
    return this.acks.issue(subscriptionId);
  }

  sendHeartbeat(): void {
    if (this.state !== 'closed') this.out.heartbeat();
  }

  /** Asks the transport whether the peer is still there; false when it cannot ask. */
  probe(): boolean {
    if (this.state === 'closed' || !this.options.transport.ping) return false;
    this.clock.probed();
    this.options.transport.ping();
    return true;
  }

  /** The peer answered a probe: it is alive even if it sends no STOMP heart-beats. */
  markAlive(): void {
    this.clock.received();
  }

  /** Closes the WebSocket without an ERROR (server shutdown: 1001, silent peer, …). */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.closed();
    this.options.transport.close(code, closeReason(reason));
  }

  /** Ends the session from outside its frames (a deadline passed, its user was deleted): ERROR, close. */
  end(kind: SessionEnding): void {
    const ending = sessionEnding(kind, this.limits);
    if (!ending.appliesIn(this.state)) return;
    this.options.services.onRejected?.(ending.reason);
    if (ending.afterInFlight) this.closeAfterInFlight(ending.error, NO_FRAME);
    else this.fail(ending.error);
  }

  /** Asked before every frame is handled: not one frame outlives the token. */
  tokenExpired(): boolean {
    return this.clock.tokenExpired(this.now());
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
    this.draining = true;
    await this.framesHandled();
    await this.sends.settled();
  }

  private parse(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
      this.clock.frameProgress(this.parser.inFrame);
    } catch (error) {
      if (isStompProtocolError(error)) this.options.services.onRejected?.(`protocol:${error.code}`);
      this.fail(isStompProtocolError(error) ? new FatalStompError(error.message) : error);
    }
  }

  private enqueue(frame: StompFrame): void {
    this.clock.frameEnded();
    this.adoptVersionEarly(frame);
    if (this.state === 'closing' || this.state === 'closed') return;
    const cost = frameCost(frame);
    if (!this.flow.enqueue(cost)) {
      this.refuseFlood();
      return;
    }
    this.options.services.onFrame?.('in', frame.command);
    this.queue = this.queue.then(async () => {
      try {
        if (this.state === 'closing' || this.state === 'closed') return;
        await dispatch(this.context, frame, this);
      } catch (error) {
        this.fail(error, frameRef(frame));
      } finally {
        this.flow.dequeue(cost);
      }
    });
  }

  /**
   * Frames pipelined behind CONNECT in the same chunk are parsed before CONNECT is handled, so the
   * parser must learn the version now: a 1.0 client's headers are not escaped.
   */
  private adoptVersionEarly(frame: StompFrame): void {
    if (this.state !== 'awaiting-connect' || this.flow.pendingFrames > 0) return;
    if (frame.command !== 'CONNECT' && frame.command !== 'STOMP') return;
    try {
      this.parser.version = negotiateVersion(header(frame, 'accept-version'));
    } catch {
      // handleConnect refuses it with the same error.
    }
  }

  private refuseFlood(): void {
    this.options.services.onRejected?.('too-many-pending-frames');
    const detail = `at most ${this.limits.maxPendingFrames} frames or ${this.limits.maxInboundBytes} bytes may wait to be handled`;
    this.fail(new FatalStompError('too many frames in flight', detail));
  }

  /** 'closing' at once; the ERROR follows the answers to the SENDs already in flight (bounded). */
  private closeAfterInFlight(error: FatalStompError, ref: FrameRef): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    void this.sends.settledWithin(this.limits.maxReceiptWaitMs).then(() => this.fail(error, ref));
  }

  private receipt(receipt: string | undefined, extra?: Record<string, string>): void {
    // 'closing': a DISCONNECT or a fatal refusal is waiting for exactly these SEND receipts.
    if (receipt && (this.state === 'connected' || this.state === 'closing'))
      this.writeFrame('RECEIPT', { 'receipt-id': receipt, ...extra });
  }

  private writeFrame(command: string, headers: Record<string, string>, body?: string): void {
    if (this.state !== 'closed') this.out.frame(command, headers, body);
  }

  private fail(error: unknown, ref: FrameRef = NO_FRAME): void {
    if (this.state === 'closed') return;
    const fatal = toFatal(error, this.log);
    this.log.debug({ reason: fatal.message, detail: fatal.detail }, 'stomp error');
    const headers: Record<string, string> = { message: fatal.message, 'content-type': 'text/plain' };
    if (ref.receipt) headers['receipt-id'] = ref.receipt;
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
    const wasPaused = this.flow.isPaused;
    this.flow.stop();
    // The close handshake needs the peer's close frame read; a paused socket would wait out ws's timeout.
    if (wasPaused) this.options.transport.resume?.();
    this.options.registry.removeAll(this);
    this.options.services.onClosed?.(this);
  }

  private createContext(): SessionContext {
    return {
      session: this,
      registry: this.options.registry,
      services: this.options.services,
      limits: this.limits,
      log: this.log,
      sends: this.sends,
      acks: this.acks,
      clock: this.clock,
      serverName: this.options.serverName,
      queryToken: this.options.queryToken,
      reject: this.reject,
      state: () => this.state,
      user: () => {
        if (!this.currentUser) throw new Error('no user before CONNECTED');
        return this.currentUser;
      },
      isDraining: () => this.draining,
      beginConnect: () => void (this.state = 'connecting'),
      adoptVersion: (version) => {
        this.currentVersion = version;
        this.parser.version = version;
        this.currentEscape = headerEscaping(version, 'MESSAGE');
      },
      established: (user, heartbeat, tokenExpiresAt) => {
        this.currentUser = user;
        this.negotiated = heartbeat;
        this.clock.expireAt(tokenExpiresAt);
        this.state = 'connected';
      },
      beginClosing: () => void (this.state = 'closing'),
      finish: (code, reason) => this.close(code, reason),
      settleInFlight: () => this.sends.settledWithin(this.limits.maxReceiptWaitMs),
      writeFrame: (command, headers, body) => this.writeFrame(command, headers, body),
      receipt: (receipt, extra) => this.receipt(receipt, extra),
    };
  }
}
