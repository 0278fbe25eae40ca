import type { StompSession } from './stomp-session.js';

/**
 * One timer for all sessions instead of two per session (STOMP 1.2 "Heart-beating"): every tick it
 * sends the heart-beats that are due, drops clients that have been silent too long, and refuses
 * connections that never completed CONNECT (otherwise an idle socket would hold a slot forever)
 * and clients stuck in the middle of a frame (a pinged WebSocket answers by itself, so neither
 * heart-beats nor probes catch a client that sends half a frame and stalls).
 * A client is given `graceFactor` times its negotiated interval (browsers throttle timers in
 * background tabs) before it is dropped. A client that negotiated no heart-beats is probed with a
 * WebSocket ping after `idleProbeMs` of silence (every WebSocket answers pings by itself), so a
 * half-open TCP connection cannot hold a session, and the user's presence, forever.
 */
export function createHeartbeatMonitor(options: {
  sessions: () => Iterable<StompSession>;
  tickMs?: number;
  graceFactor?: number;
  idleProbeMs?: number;
  onSilent?: (session: StompSession) => void;
  onError?: (error: unknown, session: StompSession) => void;
}) {
  const graceFactor = options.graceFactor ?? 2;
  const idleProbeMs = options.idleProbeMs ?? 30_000;
  const check = (session: StompSession, now: number) => {
    if (session.frameOverdue(now)) {
      session.refuseIncompleteFrame();
      return;
    }
    if (session.isConnecting) {
      if (now > session.connectDeadline) session.refuseUnconnected('CONNECT not received in time');
      return;
    }
    if (!session.isConnected) return;
    const { sendEveryMs, expectEveryMs } = session.heartbeat;
    const silentMs = now - session.lastReceivedAt;
    if (expectEveryMs > 0 && silentMs > expectEveryMs * graceFactor) {
      options.onSilent?.(session);
      session.close(4000, 'heart-beat timeout');
      return;
    }
    if (expectEveryMs === 0 && silentMs > idleProbeMs) {
      if (silentMs > idleProbeMs * graceFactor && session.lastProbedAt > session.lastReceivedAt) {
        options.onSilent?.(session);
        session.close(4000, 'no answer to ping');
        return;
      }
      if (now - session.lastProbedAt > idleProbeMs) session.probe();
    }
    // Sent a little early rather than late, so the client's own check never sees a gap.
    if (sendEveryMs > 0 && now - session.lastSentAt >= sendEveryMs * 0.9) session.sendHeartbeat();
  };
  const timer = setInterval(() => {
    const now = Date.now();
    for (const session of [...options.sessions()]) {
      // A timer callback that throws would take the process down; one bad session must not.
      try {
        check(session, now);
      } catch (error) {
        options.onError?.(error, session);
      }
    }
  }, options.tickMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
