import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  logInInBrowser,
  openChatWindow,
  openRoomByName,
  screenshot,
  waitConnected,
  waitForAttribute,
  waitForMessages,
  type ChatWindow,
} from '../helpers/browser.js';
import { bearer, signup } from '../helpers/http.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Two instances share one isolation, as two replicas behind nginx share the real services. The
 * browser talks to instance one, which is shut down and started again on the same port while the
 * other person keeps writing through instance two.
 */
const isolation = testEnv();
let one: TestApp;
let two: TestApp;
let browser: Browser;
let window: ChatWindow | undefined;
let bobClient: TestStompClient | undefined;

beforeAll(async () => {
  [one, two, browser] = await Promise.all([
    startTestApp(isolation, { env: { INSTANCE_ID: 'node-1' } }),
    startTestApp(isolation, { env: { INSTANCE_ID: 'node-2' } }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await window?.context.close();
  await bobClient?.close();
  await browser?.close();
  await Promise.all([one?.close(), two?.close()]);
  await cleanupTestEnv(isolation, two?.app);
});

async function storedCount(roomId: number): Promise<number> {
  const [row] = await two.app.deps.database.sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${roomId}`;
  return row?.n ?? 0;
}

describe('browser client across an instance restart', () => {
  it('should reconnect when its instance restarts and fill in the messages sent through the other instance meanwhile', async () => {
    const alice = await signup(one.app);
    const bob = await signup(two.app);
    const room = await one.app.inject({
      method: 'POST',
      url: '/api/rooms/direct',
      headers: bearer(alice.token),
      payload: { targetUserId: bob.userId },
    });
    expect(room.statusCode, room.body).toBe(201);
    const roomId: number = room.json().roomId;
    bobClient = await connectStomp(two.baseUrl, bob.token);
    await bobClient.subscribe(`/topic/room.${roomId}`);

    window = await openChatWindow(browser, one.baseUrl);
    await logInInBrowser(window, { email: alice.email, password: 'correct horse battery' });
    await openRoomByName(window.page, bob.nickname);
    await bobClient.sendWithReceipt('/app/chat.send', { roomId, content: 'before the restart' });
    await waitForMessages(window.page, ['before the restart'], 'the first message live');

    const port = new URL(one.baseUrl).port;
    // Shutdown closes every socket with 1001 (going away), which STOMP.js answers by reconnecting.
    await one.close();
    await waitForAttribute(window.page.getByTestId('connection-status'), 'data-state', 'reconnecting', 'the page to notice the shutdown');
    const meanwhile = ['while it was down 1', 'while it was down 2', 'while it was down 3'];
    for (const content of meanwhile) await bobClient.sendWithReceipt('/app/chat.send', { roomId, content });
    await waitFor(async () => (await storedCount(roomId)) === 1 + meanwhile.length, {
      timeoutMs: 30_000,
      what: 'the messages stored by instance two',
    });

    one = await startTestApp(isolation, { env: { INSTANCE_ID: 'node-1' }, listen: false });
    await one.app.listen({ port: Number(port), host: '127.0.0.1' });
    await waitConnected(window.page, 30_000);
    await waitForMessages(window.page, ['before the restart', ...meanwhile], 'the gap filled after the restart');

    await bobClient.sendWithReceipt('/app/chat.send', { roomId, content: 'after the restart' });
    await waitForMessages(window.page, ['before the restart', ...meanwhile, 'after the restart'], 'live delivery on the new instance');
    await screenshot(window.page, 'after-instance-restart');
    expect(window.pageErrors).toEqual([]);
  });
});
