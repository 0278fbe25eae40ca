import type { StompSession } from './stomp-session.js';

/**
 * One timer for all sessions instead of two per session: every tick it sends the heart-beats that
 * are due and drops clients that have been silent too long. A client is given twice its
 * negotiated interval (browsers throttle timers in background tabs) before it is dropped.
 */
export function createHeartbeatMonitor(options: {
  sessions: () => Iterable<StompSession>;
  tickMs?: number;
  graceFactor?: number;
  onSilent?: (session: StompSession) => void;
}) {
  const graceFactor = options.graceFactor ?? 2;
  const timer = setInterval(() => {
    const now = Date.now();
    for (const session of options.sessions()) {
      if (!session.isConnected) continue;
      const { sendEveryMs, expectEveryMs } = session.heartbeat;
      if (expectEveryMs > 0 && now - session.lastReceivedAt > expectEveryMs * graceFactor) {
        options.onSilent?.(session);
        session.close(4000, 'heart-beat timeout');
        continue;
      }
      // Sent a little early rather than late, so the client's own check never sees a gap.
      if (sendEveryMs > 0 && now - session.lastSentAt >= sendEveryMs * 0.9) session.sendHeartbeat();
    }
  }, options.tickMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
