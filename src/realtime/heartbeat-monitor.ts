import type { StompSession } from './stomp-session.js';

/**
 * One timer for all sessions instead of several per session (STOMP 1.2 "Heart-beating"). Each
 * tick reads every session's liveness clock (session/liveness-clock.ts) and acts on it:
 * - a frame begun longer than the frame timeout ago and not finished is refused (a pinged
 *   WebSocket answers by itself, so neither heart-beats nor probes catch a client that sends half
 *   a frame and stalls);
 * - a connection still without CONNECTED at its deadline is refused (an idle socket would hold a
 *   slot forever);
 * - a session whose token expired is ended (`token expired`);
 * - a client silent for `graceFactor` times its negotiated interval is dropped (browsers throttle
 *   timers in background tabs); one that negotiated no heart-beats is pinged after `idleProbeMs`
 *   of silence and dropped when the ping goes unanswered, so a half-open TCP connection cannot
 *   hold a session, and the user's presence, forever;
 * - the server's own heart-beats are sent when due.
 * While a session does not read its socket (back-pressure), its clock counts no silence and no
 * frame time, so a client the server is not listening to is never taken for a silent one.
 */
export interface HeartbeatMonitorOptions {
  sessions: () => Iterable<StompSession>;
  tickMs?: number;
  graceFactor?: number;
  idleProbeMs?: number;
  /** The clock deadlines are read on (epoch ms); the sessions' clocks must use the same one. */
  now?: () => number;
  onSilent?: (session: StompSession) => void;
  onError?: (error: unknown, session: StompSession) => void;
}

export const DEFAULT_IDLE_PROBE_MS = 30_000;

export function createHeartbeatMonitor(options: HeartbeatMonitorOptions) {
  const graceFactor = options.graceFactor ?? 2;
  const idleProbeMs = options.idleProbeMs ?? DEFAULT_IDLE_PROBE_MS;
  const now = options.now ?? Date.now;

  const check = (session: StompSession, at: number) => {
    const clock = session.liveness;
    if (clock.frameOverdue(at)) {
      session.end('frame-timeout');
      return;
    }
    if (session.isConnecting) {
      if (clock.connectOverdue(at)) session.end('connect-timeout');
      return;
    }
    if (!session.isConnected) return;
    if (clock.tokenExpired(at)) {
      session.end('token-expired');
      return;
    }
    const { sendEveryMs, expectEveryMs } = session.heartbeat;
    const silentMs = clock.silentMs(at);
    if (expectEveryMs > 0 && silentMs > expectEveryMs * graceFactor) {
      options.onSilent?.(session);
      session.close(4000, 'heart-beat timeout');
      return;
    }
    if (expectEveryMs === 0 && silentMs > idleProbeMs) {
      if (silentMs > idleProbeMs * graceFactor && clock.probeUnanswered) {
        options.onSilent?.(session);
        session.close(4000, 'no answer to ping');
        return;
      }
      if (clock.sinceProbedMs(at) > idleProbeMs) session.probe();
    }
    // Sent a little early rather than late, so the client's own check never sees a gap.
    if (sendEveryMs > 0 && clock.sinceSentMs(at) >= sendEveryMs * 0.9) session.sendHeartbeat();
  };

  const timer = setInterval(() => {
    const at = now();
    for (const session of [...options.sessions()]) {
      // A timer callback that throws would take the process down; one bad session must not.
      try {
        check(session, at);
      } catch (error) {
        options.onError?.(error, session);
      }
    }
  }, options.tickMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
