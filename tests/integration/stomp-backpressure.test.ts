import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerOf, openTcpStomp } from '../helpers/fault-hostile.js';
import { startFreezableProxy, type FreezableProxy } from '../helpers/freezable-proxy.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { serviceUrls } from '../helpers/services.js';
import { connectStomp, openRawStomp } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 6 against a running instance: a publisher that sends faster than the session
 * handles is slowed by TCP back-pressure, not cut off, with every SEND stored and the session's
 * memory bounded in bytes; and a SUBSCRIBE that Redis does not confirm in time gets an error, not a
 * RECEIPT. The instance reaches the shared Redis through a proxy the test can freeze.
 */
let proxy: FreezableProxy;
let isolation: ReturnType<typeof testEnv>;
let t: TestApp;
let alice: SignedUpUser;

beforeAll(async () => {
  const redis = new URL(serviceUrls.redis);
  proxy = await startFreezableProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  isolation = testEnv({
    REDIS_URL: proxy.url('redis'),
    RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
    STOMP_SUBSCRIBE_CONFIRM_TIMEOUT_MS: '500',
  });
  t = await startTestApp(isolation);
  alice = await signup(t.app);
});
afterAll(async () => {
  proxy?.thaw();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
  await proxy?.close();
});

async function groupRoom(name: string): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(alice.token),
    payload: { name, memberIds: [] },
  });
  return response.json().roomId as number;
}

const frameText = (command: string, headers: Record<string, string>, body = '') =>
  `${command}\n${Object.entries(headers)
    .map(([name, value]) => `${name}:${value}\n`)
    .join('')}\n${body}\0`;

describe('STOMP inbound back-pressure', () => {
  it('should slow a publisher that floods 3,000 SENDs in one TCP write instead of cutting it off, and store every one', async () => {
    const roomId = await groupRoom('flood');
    const publisher = await openTcpStomp(t.baseUrl);
    publisher.send(frameText('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,0', Authorization: `Bearer ${alice.token}` }));
    await publisher.frame('CONNECTED');
    const session = [...t.app.realtime.sessions].find((candidate) => candidate.user?.userId === alice.userId)!;

    const COUNT = 3_000;
    const sends = Array.from({ length: COUNT }, (_, index) =>
      frameText(
        'SEND',
        { destination: '/app/chat.send', 'content-type': 'application/json' },
        JSON.stringify({ roomId, content: `flood ${index} ${'x'.repeat(80)}` }),
      ),
    );
    // The last one asks for a RECEIPT: it is answered only once every SEND before it was handed on.
    sends.push(frameText('SEND', { destination: '/app/chat.send', receipt: 'last' }, JSON.stringify({ roomId, content: 'last' })));
    const started = Date.now();
    publisher.sendMany(sends);

    await waitFor(() => publisher.frames.find((frame) => frame.command === 'RECEIPT' || frame.command === 'ERROR'), {
      timeoutMs: 60_000,
      what: 'the RECEIPT of the last SEND',
    });
    const answer = publisher.frames.find((frame) => frame.command === 'RECEIPT' || frame.command === 'ERROR')!;
    expect(answer.command === 'ERROR' ? `ERROR ${headerOf(answer, 'message')}` : 'RECEIPT').toBe('RECEIPT');
    const stored = async () => {
      const [row] = await t.app.deps.database.sql<
        { count: number }[]
      >`select count(*)::int as count from messages where room_id = ${roomId}`;
      return row!.count;
    };
    await waitFor(async () => (await stored()) === COUNT + 1, { timeoutMs: 60_000, what: `all ${COUNT + 1} SENDs stored` });
    const { pauses, peakBytes } = session.inbound;
    console.info(
      `back-pressure: ${COUNT + 1} SENDs (${Math.round(sends.join('').length / 1024)} KiB) in one write, all stored in ${Date.now() - started} ms; reading paused ${pauses} times; peak held ${Math.round(peakBytes / 1024)} KiB of ${t.config.STOMP_MAX_INBOUND_BYTES / 1024} KiB`,
    );
    expect(pauses).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(t.config.STOMP_MAX_INBOUND_BYTES);
    expect(session.isConnected).toBe(true);
    expect(session.inbound.paused).toBe(false);
    const prometheus = await (await fetch(`${t.baseUrl}/actuator/prometheus`)).text();
    expect(Number(/chat_stomp_read_pauses_total (\d+)/.exec(prometheus)?.[1] ?? 0)).toBeGreaterThan(0);
    publisher.destroy();
  });
});

describe('STOMP SUBSCRIBE that Redis does not confirm', () => {
  it('should answer with an error instead of a RECEIPT, leave no subscription behind, and subscribe on the next try', async () => {
    const roomId = await groupRoom('frozen redis');
    const topic = `/topic/room.${roomId}`;
    const socket = await openRawStomp(t.baseUrl);
    socket.send(frameText('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,0', Authorization: `Bearer ${alice.token}` }));
    await socket.frame('CONNECTED');
    socket.send(frameText('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors', receipt: 'errors' }));
    await waitFor(() => socket.frames.some((frame) => frame.command === 'RECEIPT'));

    proxy.freeze();
    try {
      socket.send(frameText('SUBSCRIBE', { id: 'room', destination: topic, receipt: 'room' }));
      const report = await socket.frame('MESSAGE', 10_000);
      expect(JSON.parse(report.body.toString())).toEqual({
        code: 'UNAVAILABLE',
        message: 'subscription not confirmed in time; subscribe again',
        destination: topic,
        receiptId: 'room',
      });
      expect(socket.frames.filter((frame) => frame.command === 'RECEIPT').map((frame) => headerOf(frame, 'receipt-id'))).toEqual([
        'errors',
      ]);
      expect(t.app.realtime.registry.subscriberCount(topic)).toBe(0);
    } finally {
      proxy.thaw();
    }
    // The SUBSCRIBE Redis confirms late is undone: the instance does not stay on the channel.
    await waitFor(() => !t.app.pipeline.fanIn.channels().includes(roomId), { what: 'the half-made room subscription gone' });

    const subscriber = await connectStomp(t.baseUrl, alice.token);
    await subscriber.subscribe(topic);
    const receipt = await subscriber.sendWithReceipt('/app/chat.send', { roomId, content: 'after the thaw' });
    await waitFor(() => subscriber.bodies<{ messageKey: string }>(topic).some((body) => body.messageKey === receipt['message-key']), {
      what: 'delivery after the thaw',
    });
    await subscriber.close();
    socket.close();
  });
});
