import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handMadeToken } from '../helpers/fault-hostile.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 10 with real STOMP.js clients against a running instance: a session ends at its
 * token's `exp` unless renewed with SEND /app/token.refresh, and a deleted user's sessions close
 * within seconds (the sweep runs at its default interval here).
 */
const isolation = testEnv({ JWT_EXPIRES_IN: '5s', AUTH_RATE_LIMIT_PER_MINUTE: '1000' });
let t: TestApp;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };

/** A STOMP.js client that records when its socket closed. */
async function client(token: string) {
  const closed: { at?: number } = {};
  const stomp = await connectStomp(t.baseUrl, token, {
    onWebSocketClose: () => {
      closed.at ??= Date.now();
    },
  });
  clients.push(stomp);
  return { stomp, closed };
}

async function renew(stomp: TestStompClient, token: string): Promise<'RECEIPT' | string> {
  const receipt = `renew-${Date.now()}`;
  let answered = false;
  stomp.client.watchForReceipt(receipt, () => {
    answered = true;
  });
  const errorsBefore = stomp.errors.length;
  stomp.client.publish({ destination: '/app/token.refresh', headers: { Authorization: `Bearer ${token}`, receipt } });
  await waitFor(() => answered || stomp.errors.length > errorsBefore, { what: 'an answer to the token refresh' });
  return answered ? 'RECEIPT' : stomp.errors.at(-1)!;
}

describe('STOMP session lifetime', () => {
  it('should close a session whose token expires in 5 s with ERROR "token expired" within 2 s of exp', async () => {
    const alice = await signup(t.app);
    const expiresAt = claimsOf(alice.token).exp * 1000;
    const { stomp, closed } = await client(alice.token);
    await stomp.subscribe('/topic/presence');
    expect(expiresAt - Date.now()).toBeGreaterThan(1_000);

    await waitFor(() => closed.at, { timeoutMs: 15_000, what: 'the session to end at its token expiry' });
    const lateMs = closed.at! - expiresAt;
    console.info(`token expiry: session closed ${lateMs} ms after exp`);
    expect(stomp.errors).toEqual(['token expired']);
    expect(stomp.closes[0]!.code).toBe(1008);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(2_000);
  });

  it('should keep a session that renewed its token past the old exp, and end it at the new one', async () => {
    const alice = await signup(t.app, { password: 'correct horse battery' });
    const firstExpiry = claimsOf(alice.token).exp * 1000;
    const { stomp, closed } = await client(alice.token);
    const room = await t.app.inject({
      method: 'POST',
      url: '/api/rooms/group',
      headers: bearer(alice.token),
      payload: { name: 'renewal', memberIds: [] },
    });
    const topic = `/topic/room.${room.json().roomId as number}`;
    await stomp.subscribe(topic);
    await stomp.subscribe('/user/queue/errors');

    // Renewed 2 s before expiry, as a client's refresh timer would: the new token expires ≥ 3 s later.
    await waitFor(() => Date.now() >= firstExpiry - 2_000, { timeoutMs: 10_000, what: 'the time to renew' });
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: alice.email, password: 'correct horse battery' },
    });
    const fresh = login.json().token as string;
    const secondExpiry = claimsOf(fresh).exp * 1000;
    expect(secondExpiry).toBeGreaterThanOrEqual(firstExpiry + 3_000);
    expect(await renew(stomp, fresh)).toBe('RECEIPT');

    await waitFor(() => Date.now() > firstExpiry + 1_000, { timeoutMs: 10_000, what: 'the first token to be long expired' });
    expect(closed.at).toBeUndefined();
    const receipt = await stomp.sendWithReceipt('/app/chat.send', {
      roomId: room.json().roomId,
      content: 'still here after the first exp',
    });
    expect(receipt['message-key']).toBeDefined();

    await waitFor(() => closed.at, { timeoutMs: 15_000, what: 'the session to end at the renewed expiry' });
    expect(stomp.errors).toEqual(['token expired']);
    expect(closed.at! - secondExpiry).toBeGreaterThanOrEqual(0);
    expect(closed.at! - secondExpiry).toBeLessThan(2_000);
  });

  it("should end a session renewed with another user's token", async () => {
    const [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
    const { stomp } = await client(alice.token);
    expect(await renew(stomp, bob.token)).toBe('token belongs to another user');
    await waitFor(() => stomp.closes.length > 0, { what: 'the close' });
    expect(stomp.closes[0]!.code).toBe(1008);
  });

  it("should close a deleted user's open sessions within seconds", async () => {
    const ghost: SignedUpUser = await signup(t.app);
    // A long-lived token, so only the deletion can end these sessions.
    const now = Math.floor(Date.now() / 1000);
    const token = handMadeToken({ sub: String(ghost.userId), email: ghost.email, iat: now, exp: now + 3600 });
    const sessions = await Promise.all([client(token), client(token)]);
    for (const { stomp } of sessions) await stomp.subscribe('/topic/presence');

    const deletedAt = Date.now();
    await t.app.deps.database.sql`delete from users where id = ${ghost.userId}`;
    await waitFor(() => sessions.every(({ closed }) => closed.at), { timeoutMs: 15_000, what: "the deleted user's sessions to close" });
    const slowestMs = Math.max(...sessions.map(({ closed }) => closed.at! - deletedAt));
    console.info(
      `deleted user: sessions closed ${slowestMs} ms after the DELETE (sweep every ${t.config.STOMP_USER_SWEEP_INTERVAL_MS} ms)`,
    );
    for (const { stomp } of sessions) {
      expect(stomp.errors).toEqual(['User no longer exists']);
      expect(stomp.closes[0]!.code).toBe(1008);
    }
    expect(slowestMs).toBeLessThan(t.config.STOMP_USER_SWEEP_INTERVAL_MS + 3_000);
  });
});
