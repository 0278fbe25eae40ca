import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../helpers/app-process.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { numberedMessages, streamSends } from '../helpers/send-stream.js';
import { connectSilentPeer } from '../helpers/silent-peer.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * SIGTERM of a real app process (src/main.ts) in the middle of a stream of SENDs, with a second
 * instance (in this process) in the same consumer groups to take over. Proves SPEC §9 and issue 7:
 * readiness DOWN first, sockets closed with 1001, nothing RECEIPTed lost or stored twice, the
 * exit inside SHUTDOWN_TIMEOUT_MS, and the partitions on the survivor within seconds.
 */
const SHUTDOWN_TIMEOUT_MS = 15_000;
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100000', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
let survivor: TestApp;
let victim: AppProcess;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];
const sql = postgres(isolation.databaseUrl, { max: 2, onnotice: () => {} });

const fullAssignment = (app: TestApp) => app.app.pipeline.runners.every((runner) => runner.assignment().length === 6);

beforeAll(async () => {
  survivor = await startTestApp(isolation, { env: { INSTANCE_ID: 'survivor' } });
  alice = await signup(survivor.app);
  bob = await signup(survivor.app);
  const room = await survivor.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  roomId = room.json().roomId;
  victim = await startAppProcess({ env: { ...isolation.env, INSTANCE_ID: 'victim' }, name: 'victim' });
  // Both instances in both groups: the survivor gave up some partitions to the victim.
  await waitFor(() => survivor.app.pipeline.runners.every((runner) => runner.assignment().length > 0 && runner.assignment().length < 6), {
    what: 'partitions split between the two instances',
    timeoutMs: 30_000,
  });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await victim?.kill('SIGKILL').catch(() => {});
  await sql.end({ timeout: 5 });
  await survivor?.close();
  await cleanupTestEnv(isolation, survivor?.app);
});

describe('graceful shutdown on SIGTERM', () => {
  it('should store every RECEIPTed message exactly once, turn readiness 503, exit in time and hand its partitions over', async () => {
    const sender = await connectStomp(victim.baseUrl, alice.token);
    clients.push(sender);
    await sender.subscribe('/user/queue/errors');
    const silent = await connectSilentPeer(victim.baseUrl, bob.token);

    const messages = numberedMessages(5_000);
    let receipts = 0;
    let signalledAt = 0;
    const readiness: number[] = [];
    let pollReadiness: Promise<void> | undefined;
    const stream = streamSends(sender, {
      roomId,
      messages,
      window: 20,
      timeoutMs: 45_000,
      onReceipt: () => {
        receipts += 1;
        if (receipts < 100 || signalledAt) return;
        signalledAt = Date.now();
        victim.kill('SIGTERM').catch(() => {});
        // Polled until the listener is gone (connection refused) or the process has exited.
        pollReadiness = waitFor(
          async () => {
            if (victim.exitStatus()) return true;
            try {
              const response = await fetch(`${victim.baseUrl}/actuator/health/readiness`, { signal: AbortSignal.timeout(1_000) });
              readiness.push(response.status);
              return false;
            } catch {
              return true;
            }
          },
          { what: 'readiness polling to end', timeoutMs: SHUTDOWN_TIMEOUT_MS, intervalMs: 50 },
        ).then(() => {});
      },
    });
    const result = await stream;
    expect(signalledAt).toBeGreaterThan(0);
    const status = await victim.exited;
    const exitedAt = Date.now();
    await pollReadiness;

    // The process stopped itself, cleanly, inside the deadline, despite a peer that never answers.
    expect(status).toEqual({ code: 0, signal: null });
    const shutdownMs = exitedAt - signalledAt;
    expect(shutdownMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    silent.socket.destroy();

    // Readiness went DOWN as soon as the signal came, and never back UP.
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.every((code) => code === 503)).toBe(true);

    // STOMP.js saw "going away", the cue to reconnect elsewhere.
    expect(sender.closes.map((close) => close.code)).toContain(1001);

    // The order of the stop, as the victim logged it.
    const at = (message: string) => victim.logs.findIndex((line) => line.msg === message);
    expect(at('shutting down')).toBeGreaterThanOrEqual(0);
    const consumersStopped = victim.logs.flatMap((line, index) => (line.msg === 'consumer stopped' ? [index] : []));
    expect(consumersStopped.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...consumersStopped)).toBeGreaterThan(at('shutting down'));
    expect(at('shutdown complete')).toBeGreaterThan(Math.max(...consumersStopped));

    // Partitions moved to the survivor: the victim left its groups rather than timing out.
    await waitFor(() => fullAssignment(survivor), { what: 'all partitions on the survivor', timeoutMs: 8_000 });
    const handoverMs = Date.now() - exitedAt;

    // A client resends what got no answer, with the same messageKey (its own idempotency key).
    const resender = await connectStomp(survivor.baseUrl, alice.token);
    clients.push(resender);
    const bodyOf = new Map(messages.map((message) => [message.messageKey, message.content]));
    const unacknowledged = [...result.unanswered, ...result.refused];
    for (const key of unacknowledged) {
      await resender.sendWithReceipt('/app/chat.send', { roomId, content: bodyOf.get(key), messageKey: key });
    }

    expect(result.receipted.length).toBeGreaterThanOrEqual(100);
    const expected = new Set([...result.receipted, ...unacknowledged]);
    const rows = await waitFor(
      async () => {
        const found = await sql<
          { message_key: string; content: string }[]
        >`select message_key, content from messages where room_id = ${roomId}`;
        return found.length >= expected.size ? found : undefined;
      },
      { what: `${expected.size} stored messages`, timeoutMs: 20_000 },
    );
    const storedKeys = rows.map((row) => row.message_key);
    expect(new Set(storedKeys).size).toBe(storedKeys.length);
    expect(new Set(storedKeys)).toEqual(expected);
    for (const row of rows) expect(row.content).toBe(bodyOf.get(row.message_key));

    console.info(
      `shutdown: ${result.receipted.length} RECEIPTed before the close, ${unacknowledged.length} unanswered and resent; ` +
        `exit ${shutdownMs} ms after SIGTERM (timeout ${SHUTDOWN_TIMEOUT_MS}); readiness 503 x${readiness.length}; ` +
        `partitions on the survivor ${handoverMs} ms after the exit`,
    );
  });
});
