import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../../src/errors.js';
import {
  closeReason,
  createRejection,
  errorReport,
  type FatalStompError,
  type FrameRef,
} from '../../../../src/realtime/session/error-policy.js';
import type { SessionState } from '../../../../src/realtime/session/session-types.js';

const REF: FrameRef = { receipt: 'r-1', destination: '/app/chat.send' };

function policy(state: SessionState, subscribedToErrors: boolean) {
  const reports: unknown[] = [];
  const fatal: { error: FatalStompError; ref: FrameRef }[] = [];
  const rejected: string[] = [];
  const reject = createRejection({
    state: () => state,
    reportToUser: (body) => {
      if (subscribedToErrors) reports.push(JSON.parse(body.toString()));
      return subscribedToErrors;
    },
    closeAfterInFlight: (error, ref) => fatal.push({ error, ref }),
    onRejected: (reason) => rejected.push(reason),
    log: pino({ level: 'silent' }),
  });
  return { reject, reports, fatal, rejected };
}

describe('error policy', () => {
  it('should report a refusal on /user/queue/errors and keep the session when it is subscribed', () => {
    const p = policy('connected', true);
    p.reject(new AppError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 2 }), REF);
    expect(p.reports).toEqual([
      { code: 'RATE_LIMITED', message: 'slow down', destination: '/app/chat.send', receiptId: 'r-1', retryAfterSeconds: 2 },
    ]);
    expect(p.fatal).toEqual([]);
    expect(p.rejected).toEqual(['rate_limited']);
  });

  it('should make a refusal fatal, after the SENDs in flight, when nobody listens on the error queue', () => {
    const p = policy('connected', false);
    p.reject(new AppError('VALIDATION', 'content: too long'), REF);
    expect(p.fatal).toHaveLength(1);
    expect(p.fatal[0]!.error.message).toBe('content: too long');
    expect(p.fatal[0]!.error.closeCode).toBe(1002);
    expect(p.fatal[0]!.ref).toBe(REF);
  });

  it('should only report, never pre-empt the closing answer, while the session is closing', () => {
    const quiet = policy('closing', false);
    quiet.reject(new AppError('UNAVAILABLE', 'broker down'), REF);
    expect(quiet.fatal).toEqual([]);
    const listening = policy('closing', true);
    listening.reject(new AppError('UNAVAILABLE', 'broker down'), REF);
    expect(listening.reports).toHaveLength(1);
    expect(listening.fatal).toEqual([]);
  });

  it('should say nothing to a session that is already closed', () => {
    const p = policy('closed', true);
    p.reject(new AppError('UNAVAILABLE', 'broker down'), REF);
    expect(p.reports).toEqual([]);
    expect(p.fatal).toEqual([]);
  });

  it('should answer an unexpected failure as UNAVAILABLE with the fallback text, never its detail', () => {
    const p = policy('connected', true);
    p.reject(new Error('connect ECONNREFUSED 10.0.0.7:9092'), REF, 'message could not be sent');
    expect(p.reports).toEqual([
      { code: 'UNAVAILABLE', message: 'message could not be sent', destination: '/app/chat.send', receiptId: 'r-1' },
    ]);
  });

  it('should write null for a refused frame without receipt or destination', () => {
    const body = JSON.parse(errorReport(new AppError('FORBIDDEN', 'no'), { receipt: undefined, destination: undefined }).toString());
    expect(body).toEqual({ code: 'FORBIDDEN', message: 'no', destination: null, receiptId: null });
  });

  it('should cut a close reason to 123 bytes at a character boundary', () => {
    const reason = closeReason('字'.repeat(100));
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason.endsWith('…')).toBe(true);
    expect(closeReason('short')).toBe('short');
  });
});
