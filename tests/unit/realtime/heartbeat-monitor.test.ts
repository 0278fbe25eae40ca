import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHeartbeatMonitor } from '../../../src/realtime/heartbeat-monitor.js';
import { header } from '../../../src/stomp/index.js';
import { ALICE, connectFrame, frame, GOOD_TOKEN, harness } from './session-harness.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function monitored(heartBeat: string | undefined, limits = {}) {
  const h = harness({ limits });
  const monitor = createHeartbeatMonitor({ sessions: () => [h.session] });
  if (heartBeat !== undefined) await h.push(connectFrame({ 'heart-beat': heartBeat }));
  return { ...h, monitor };
}

describe('heart-beat monitor', () => {
  it('should send heart-beats at the negotiated interval while the server has nothing else to say', async () => {
    const { socket, session, monitor } = await monitored('1000,1000');
    for (let second = 0; second < 5; second += 1) {
      vi.advanceTimersByTime(1000);
      session.receive('\n');
    }
    expect(socket.heartbeats).toBeGreaterThanOrEqual(4);
    expect(socket.heartbeats).toBeLessThanOrEqual(6);
    expect(socket.closedWith).toBeUndefined();
    monitor.stop();
  });

  it('should keep a client that heart-beats on time connected', async () => {
    const { socket, session, monitor } = await monitored('1000,1000');
    for (let step = 0; step < 40; step += 1) {
      vi.advanceTimersByTime(500);
      if (step % 3 === 0) session.receive('\n');
    }
    expect(socket.closedWith).toBeUndefined();
    expect(session.isConnected).toBe(true);
    monitor.stop();
  });

  it('should drop a client silent for more than twice its interval, and not before', async () => {
    const { socket, session, registry, monitor } = await monitored('1000,1000');
    vi.advanceTimersByTime(1900);
    expect(socket.closedWith).toBeUndefined();
    vi.advanceTimersByTime(400);
    expect(socket.closedWith).toEqual({ code: 4000, reason: 'heart-beat timeout' });
    expect(session.isConnected).toBe(false);
    expect(registry.destinations()).toEqual([]);
    monitor.stop();
  });

  it('should neither send nor expect heart-beats when the client asked for none, only ping it when idle', async () => {
    const { socket, monitor } = await monitored('0,0');
    vi.advanceTimersByTime(29_000);
    expect(socket.pings).toBe(0);
    vi.advanceTimersByTime(121_000);
    expect(socket.heartbeats).toBe(0);
    expect(socket.pings).toBeGreaterThanOrEqual(4);
    expect(socket.pings).toBeLessThanOrEqual(5);
    expect(socket.closedWith).toBeUndefined();
    monitor.stop();
  });

  it('should drop a client without heart-beats whose connection no longer answers pings', async () => {
    const { socket, session, registry, monitor } = await monitored('0,0');
    socket.answerPings = false;
    vi.advanceTimersByTime(31_000);
    expect(socket.pings).toBe(1);
    expect(socket.closedWith).toBeUndefined();
    vi.advanceTimersByTime(30_000);
    expect(socket.closedWith).toEqual({ code: 4000, reason: 'no answer to ping' });
    expect(session.isConnected).toBe(false);
    expect(registry.destinations()).toEqual([]);
    monitor.stop();
  });

  it('should not ping a client that keeps sending frames', async () => {
    const { socket, session, monitor } = await monitored('0,0');
    for (let second = 0; second < 90; second += 10) {
      vi.advanceTimersByTime(10_000);
      session.receive('\n');
    }
    expect(socket.pings).toBe(0);
    expect(socket.closedWith).toBeUndefined();
    monitor.stop();
  });

  it('should refuse a connection that sends no CONNECT in time with ERROR and a policy close', async () => {
    const { socket, monitor } = await monitored(undefined, { connectTimeoutMs: 3000 });
    vi.advanceTimersByTime(2900);
    expect(socket.closedWith).toBeUndefined();
    vi.advanceTimersByTime(400);
    expect(header(socket.last('ERROR'), 'message')).toBe('CONNECT not received in time');
    expect(socket.closedWith?.code).toBe(1008);
    monitor.stop();
  });

  it('should refuse a connection whose CONNECT is still being authenticated at the deadline', async () => {
    const h = harness({ limits: { connectTimeoutMs: 3000 }, authenticate: () => new Promise(() => {}) });
    const monitor = createHeartbeatMonitor({ sessions: () => [h.session] });
    h.session.receive(connectFrame());
    vi.advanceTimersByTime(3500);
    expect(h.socket.commands()).toEqual(['ERROR']);
    expect(h.socket.closedWith?.code).toBe(1008);
    monitor.stop();
  });

  it('should keep checking the other sessions when one of them throws', async () => {
    const broken = await monitored('1000,1000');
    const healthy = harness();
    await healthy.push(connectFrame({ 'heart-beat': '1000,1000' }));
    const errors: unknown[] = [];
    broken.monitor.stop();
    broken.session.sendHeartbeat = () => {
      throw new Error('socket exploded');
    };
    const monitor = createHeartbeatMonitor({ sessions: () => [broken.session, healthy.session], onError: (error) => errors.push(error) });
    vi.advanceTimersByTime(1000);
    expect(errors).not.toHaveLength(0);
    expect(healthy.socket.heartbeats).toBeGreaterThanOrEqual(1);
    monitor.stop();
  });

  it('should not take a heart-beat EOL split across two WebSocket messages for a stalled frame', async () => {
    const { socket, session, monitor } = await monitored('1000,1000', { frameTimeoutMs: 3000 });
    for (let second = 0; second < 10; second += 1) {
      session.receive('\r');
      session.receive('\n');
      vi.advanceTimersByTime(1000);
    }
    // Even a CR whose LF is still on its way starts no frame clock.
    session.receive('\r');
    vi.advanceTimersByTime(1000);
    session.receive('\n');
    expect(socket.closedWith).toBeUndefined();
    expect(session.isConnected).toBe(true);
    monitor.stop();
  });

  it('should not drop a client it stopped reading (back-pressure) for silence, nor its half frame for time', async () => {
    const h = harness({ limits: { readPauseBytes: 1000, readResumeBytes: 100, maxInboundBytes: 100_000, frameTimeoutMs: 3000 } });
    const monitor = createHeartbeatMonitor({ sessions: () => [h.session] });
    await h.push(connectFrame({ 'heart-beat': '1000,1000' }));
    h.session.receive(frame('SEND', { destination: '/app/chat.send' }, 'x'.repeat(2000)));
    await h.session.framesHandled();
    expect(h.socket.paused).toBe(true);
    h.session.receive('SEND\ndestination:/app/chat.send\n\nhalf');
    vi.advanceTimersByTime(60_000);
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.socket.heartbeats).toBeGreaterThan(50);

    h.sends[0]!.durable.resolve();
    await vi.waitFor(() => expect(h.socket.paused).toBe(false));
    // Heard again from here on: silence and the half frame's time count from the resume.
    vi.advanceTimersByTime(1500);
    expect(h.socket.closedWith).toBeUndefined();
    vi.advanceTimersByTime(1000);
    expect(h.socket.closedWith).toEqual({ code: 4000, reason: 'heart-beat timeout' });
    monitor.stop();
  });

  it("should end a session at its token's expiry within a tick", async () => {
    const h = harness({ authenticate: async () => ({ ...ALICE, expiresAt: Date.now() + 5000 }) });
    const monitor = createHeartbeatMonitor({ sessions: () => [h.session] });
    await h.push(connectFrame({ 'heart-beat': '0,0', Authorization: `Bearer ${GOOD_TOKEN}` }));
    vi.advanceTimersByTime(4900);
    expect(h.socket.closedWith).toBeUndefined();
    await vi.advanceTimersByTimeAsync(400);
    expect(header(h.socket.last('ERROR'), 'message')).toBe('token expired');
    expect(h.socket.closedWith?.code).toBe(1008);
    monitor.stop();
  });
});
