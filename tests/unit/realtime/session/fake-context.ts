import { pino } from 'pino';
import { AppError, unauthorized } from '../../../../src/errors.js';
import { AckTracker } from '../../../../src/realtime/session/ack-tracker.js';
import type { FrameRef } from '../../../../src/realtime/session/error-policy.js';
import { LivenessClock } from '../../../../src/realtime/session/liveness-clock.js';
import { SendTracker } from '../../../../src/realtime/session/send-tracker.js';
import type { NegotiatedHeartbeats, SessionContext } from '../../../../src/realtime/session/session-context.js';
import { DEFAULT_SESSION_LIMITS } from '../../../../src/realtime/session/session-limits.js';
import type { SessionServices, SessionState, SessionUser } from '../../../../src/realtime/session/session-types.js';
import { SubscriptionRegistry } from '../../../../src/realtime/subscription-registry.js';
import type { StompVersion } from '../../../../src/stomp/index.js';
import { ALICE, deferred, GOOD_TOKEN, type Deferred } from '../session-harness.js';

/**
 * A handler's view of a session, recorded: what it wrote, which RECEIPTs and refusals it asked
 * for, which transitions it made. Handlers are tested on it without a socket or a parser.
 */
export function fakeContext(options: { state?: SessionState; services?: Partial<SessionServices>; draining?: boolean } = {}) {
  let state: SessionState = options.state ?? 'connected';
  const written: { command: string; headers: Record<string, string>; body?: string }[] = [];
  const receipts: { receipt: string; extra?: Record<string, string> }[] = [];
  const rejections: { error: unknown; ref: FrameRef }[] = [];
  const sends: Deferred[] = [];
  const record = {
    version: undefined as StompVersion | undefined,
    established: undefined as { user: SessionUser; heartbeat: NegotiatedHeartbeats; expiresAt: number | undefined } | undefined,
    finished: undefined as { code: number; reason: string } | undefined,
    reserved: 0,
  };
  const acks = new AckTracker('t', 10);
  const session = {
    id: 'session-1',
    user: ALICE as SessionUser | undefined,
    escape: '1.2' as const,
    write: () => {},
    ackId: (id: string) => acks.issue(id),
  };
  const services: SessionServices = {
    authenticate: async (token) => {
      if (token === GOOD_TOKEN) return { ...ALICE, expiresAt: 1_000_000 };
      throw unauthorized('Invalid token');
    },
    authorizeSubscribe: async () => {},
    send: async () => {
      const durable = deferred();
      sends.push(durable);
      return { durable: durable.promise, receiptHeaders: { 'message-key': 'k-1' } };
    },
    ...options.services,
  };
  const sendTracker = new SendTracker({ reserve: (cost) => (record.reserved += cost), release: (cost) => (record.reserved -= cost) });
  const ctx: SessionContext = {
    session,
    registry: new SubscriptionRegistry('node'),
    services,
    limits: { ...DEFAULT_SESSION_LIMITS },
    log: pino({ level: 'silent' }),
    sends: sendTracker,
    acks,
    clock: new LivenessClock(() => 0, DEFAULT_SESSION_LIMITS),
    serverName: 'chat-backend/test',
    queryToken: undefined,
    reject: (error, ref) => rejections.push({ error, ref }),
    state: () => state,
    user: () => ALICE,
    isDraining: () => options.draining ?? false,
    beginConnect: () => {
      state = 'connecting';
    },
    adoptVersion: (version) => {
      record.version = version;
    },
    established: (user, heartbeat, expiresAt) => {
      state = 'connected';
      record.established = { user, heartbeat, expiresAt };
    },
    beginClosing: () => {
      state = 'closing';
    },
    finish: (code, reason) => {
      state = 'closed';
      record.finished = { code, reason };
    },
    settleInFlight: () => sendTracker.settledWithin(1_000),
    writeFrame: (command, headers, body) => written.push({ command, headers, body }),
    receipt: (receipt, extra) => {
      if (receipt) receipts.push({ receipt, ...(extra && { extra }) });
    },
  };
  return { ctx, written, receipts, rejections, sends, record, setState: (next: SessionState) => (state = next) };
}

export const appError = (code: AppError['code'], message: string) => new AppError(code, message);
