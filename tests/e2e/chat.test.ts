import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  logInInBrowser,
  messageTexts,
  openChatWindow,
  openRoomByName,
  roomItem,
  screenshot,
  sendFromBrowser,
  signUpInBrowser,
  tokenOf,
  waitConnected,
  waitForAttribute,
  waitForMessages,
  waitForText,
  type ChatWindow,
} from '../helpers/browser.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { uniqueSuffix } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'correct horse battery';
// Seeding history goes faster than a person types; the limit itself is proven elsewhere.
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '500' });
let t: TestApp;
let browser: Browser;
let windows: ChatWindow[] = [];
const stompClients: TestStompClient[] = [];

beforeAll(async () => {
  [t, browser] = await Promise.all([startTestApp(isolation), launchBrowser()]);
});
afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    const name = context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    await Promise.all(windows.map((window, index) => screenshot(window.page, `failed-${name}-${index}`).catch(() => {})));
  }
  await Promise.all(windows.map((window) => window.context.close().catch(() => {})));
  windows = [];
});
afterAll(async () => {
  await Promise.all(stompClients.map((client) => client.close()));
  await browser?.close();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function openWindow(): Promise<ChatWindow> {
  const window = await openChatWindow(browser, t.baseUrl);
  windows.push(window);
  return window;
}

async function loggedInWindow(user: SignedUpUser): Promise<ChatWindow> {
  const window = await openWindow();
  await logInInBrowser(window, { email: user.email, password: PASSWORD });
  return window;
}

async function directRoom(a: SignedUpUser, b: SignedUpUser): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(a.token),
    payload: { targetUserId: b.userId },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().roomId;
}

async function stompAs(user: SignedUpUser, roomId: number): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, user.token);
  stompClients.push(client);
  await client.subscribe(`/topic/room.${roomId}`);
  return client;
}

async function storedCount(roomId: number): Promise<number> {
  const [row] = await t.app.deps.database.sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${roomId}`;
  return row?.n ?? 0;
}

async function unreadOnServer(token: string, roomId: number): Promise<number | undefined> {
  const response = await t.app.inject({ method: 'GET', url: '/api/rooms', headers: bearer(token) });
  return (response.json() as { roomId: number; unreadCount: number }[]).find((room) => room.roomId === roomId)?.unreadCount;
}

const chatBodies = (client: TestStompClient, roomId: number) =>
  client.bodies<{ content?: string; event?: string }>(`/topic/room.${roomId}`).filter((body) => body.event === undefined);

// Conditions on the server cross Kafka consumer groups that may still be joining their first
// rebalance on a busy 2-core machine; the browser-side waits stay shorter.
const SERVER_WAIT_MS = 30_000;

describe('browser client', () => {
  it('should let two people sign up, find each other, and chat live in a direct room with unread badges and online dots', async () => {
    const suffix = uniqueSuffix();
    const aliceUser = { email: `alice_${suffix}@example.com`, nickname: 'Alice', password: PASSWORD };
    const bobUser = { email: `bob_${suffix}@example.com`, nickname: 'Bob', password: PASSWORD };
    const alice = await openWindow();
    const bob = await openWindow();
    await signUpInBrowser(alice, aliceUser);
    await signUpInBrowser(bob, bobUser);

    await alice.page.getByTestId('user-search').fill(bobUser.email);
    await alice.page.getByTestId('user-result').filter({ hasText: bobUser.email }).getByTestId('start-direct').click();
    await waitForText(alice.page.getByTestId('room-title'), bobUser.nickname, 'the direct room to open for Alice');
    await waitForAttribute(
      roomItem(alice.page, bobUser.nickname).getByTestId('presence-dot'),
      'data-online',
      'true',
      "Bob's dot to be online for Alice",
    );

    await sendFromBrowser(alice.page, 'Hi Bob!');
    await sendFromBrowser(alice.page, 'Are you there?');
    await waitForMessages(alice.page, ['Hi Bob!', 'Are you there?'], "Alice's own messages");

    // Bob has not opened anything: the new room turns up in his list with both messages unread.
    const bobsRow = roomItem(bob.page, aliceUser.nickname);
    await waitForText(bobsRow.getByTestId('unread-badge'), '2', "Bob's unread badge to show 2");
    await waitForAttribute(bobsRow.getByTestId('presence-dot'), 'data-online', 'true', "Alice's dot to be online for Bob");
    await screenshot(bob.page, 'direct-unread-badge');

    await openRoomByName(bob.page, aliceUser.nickname);
    await waitForMessages(bob.page, ['Hi Bob!', 'Are you there?'], 'the history in Bob’s window');
    await waitFor(() => bobsRow.getByTestId('unread-badge').isHidden(), { what: "Bob's badge to clear" });
    const roomId = Number(await bobsRow.getAttribute('data-room-id'));
    const bobToken = await tokenOf(bob.page);
    await waitFor(async () => (await unreadOnServer(bobToken, roomId)) === 0, {
      timeoutMs: SERVER_WAIT_MS,
      what: 'the read receipt to reach the server',
    });
    await waitForText(alice.page.getByTestId('seen-by'), `Seen by ${bobUser.nickname}`, 'Alice to see that Bob read her messages');

    await sendFromBrowser(bob.page, 'Hello Alice — good to see you');
    await waitForMessages(alice.page, ['Hi Bob!', 'Are you there?', 'Hello Alice — good to see you'], "Bob's reply in Alice's window");
    // Alice is looking at the room, so the reply does not count as unread for her, here or on the server.
    expect(await roomItem(alice.page, bobUser.nickname).getByTestId('unread-badge').isHidden()).toBe(true);
    await waitFor(async () => (await storedCount(roomId)) === 3, { timeoutMs: SERVER_WAIT_MS, what: 'the reply to be stored' });
    const aliceToken = await tokenOf(alice.page);
    await waitFor(async () => (await unreadOnServer(aliceToken, roomId)) === 0, {
      timeoutMs: SERVER_WAIT_MS,
      what: "Alice's read receipt for the reply",
    });
    await screenshot(alice.page, 'direct-chat');

    await bob.context.close();
    await waitForAttribute(
      roomItem(alice.page, bobUser.nickname).getByTestId('presence-dot'),
      'data-online',
      'false',
      "Bob's dot to go offline when his window closes",
    );
    expect(alice.dialogs).toEqual([]);
    expect(alice.pageErrors).toEqual([]);
  });

  it('should create a group from the dialog and deliver its messages to every member, raising badges where the room is not open', async () => {
    const [alice, bob, carol] = await Promise.all([signup(t.app), signup(t.app), signup(t.app)]);
    const carolClient = await connectStomp(t.baseUrl, carol.token);
    stompClients.push(carolClient);
    const aliceWindow = await loggedInWindow(alice);
    const bobWindow = await loggedInWindow(bob);
    const groupName = `Weekend plans ${uniqueSuffix()}`;

    const { page } = aliceWindow;
    await page.getByTestId('new-group').click();
    await page.getByTestId('group-name').fill(groupName);
    for (const member of [bob, carol]) {
      await page.getByTestId('group-member-search').fill(member.email);
      await page
        .getByTestId('group-member-results')
        .getByTestId('user-result')
        .filter({ hasText: member.email })
        .getByTestId('group-add-member')
        .click();
      await page.getByTestId('group-chip').filter({ hasText: member.nickname }).waitFor();
    }
    await page.getByTestId('group-create').click();
    await waitForText(page.getByTestId('room-title'), groupName, 'the new group to open');
    await waitFor(async () => (await page.getByTestId('member').count()) === 3, { what: 'three members listed' });
    const roomId = Number(await roomItem(page, groupName).getAttribute('data-room-id'));
    await carolClient.subscribe(`/topic/room.${roomId}`);

    // Bob stays on the empty screen: each message raises his badge live.
    const bobsRow = roomItem(bobWindow.page, groupName);
    await bobsRow.waitFor({ timeout: 15_000 });
    await sendFromBrowser(page, 'Saturday?');
    await waitForText(bobsRow.getByTestId('unread-badge'), '1', "Bob's badge to show 1");
    await sendFromBrowser(page, 'Or Sunday?');
    await waitForText(bobsRow.getByTestId('unread-badge'), '2', "Bob's badge to show 2");
    await waitForText(bobsRow.getByTestId('room-preview'), `${alice.nickname}: Or Sunday?`, "Bob's preview of the last message");

    await openRoomByName(bobWindow.page, groupName);
    await waitForMessages(bobWindow.page, ['Saturday?', 'Or Sunday?'], "the group's history in Bob's window");
    await sendFromBrowser(bobWindow.page, 'Sunday works');
    await waitForMessages(page, ['Saturday?', 'Or Sunday?', 'Sunday works'], "Bob's answer in Alice's window");
    await waitFor(() => chatBodies(carolClient, roomId).length === 3, { what: 'all three messages at Carol’s STOMP client' });
    expect(chatBodies(carolClient, roomId).map((body) => body.content)).toEqual(['Saturday?', 'Or Sunday?', 'Sunday works']);
    await screenshot(page, 'group-chat');
  });

  it('should keep the history across a reload and load older pages when scrolling up', async () => {
    const [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
    const roomId = await directRoom(alice, bob);
    const sender = await stompAs(bob, roomId);
    const texts = Array.from({ length: 75 }, (_, index) => `history ${String(index + 1).padStart(2, '0')}`);
    for (const content of texts) await sender.sendWithReceipt('/app/chat.send', { roomId, content });
    await waitFor(async () => (await storedCount(roomId)) === texts.length, {
      timeoutMs: SERVER_WAIT_MS,
      what: 'the history to be stored',
    });

    const window = await loggedInWindow(alice);
    await openRoomByName(window.page, bob.nickname);
    await waitFor(async () => (await messageTexts(window.page)).at(-1) === 'history 75', { what: 'the newest message' });

    await window.page.reload();
    await waitConnected(window.page);
    // The room in the address survives the reload and opens again with its newest page.
    await waitForText(window.page.getByTestId('room-title'), bob.nickname, 'the room to reopen after the reload');
    await waitFor(async () => (await messageTexts(window.page)).at(-1) === 'history 75', { what: 'the newest message after the reload' });
    const firstPage = await messageTexts(window.page);
    expect(firstPage.length).toBeLessThan(texts.length);

    const scroller = window.page.getByTestId('message-scroller');
    await waitFor(
      async () => {
        await scroller.evaluate((node) => {
          node.scrollTop = 0;
        });
        return (await messageTexts(window.page)).length === texts.length;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'every older page to load while scrolling up' },
    );
    expect(await messageTexts(window.page)).toEqual(texts);
    await waitForText(window.page.getByTestId('history-status'), 'Beginning of the conversation');
  });

  it('should reconnect after the WebSocket drops and show every message sent meanwhile exactly once, and deliver what was typed offline', async () => {
    const [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
    const roomId = await directRoom(alice, bob);
    const bobClient = await stompAs(bob, roomId);
    const window = await loggedInWindow(alice);
    await openRoomByName(window.page, bob.nickname);
    await bobClient.sendWithReceipt('/app/chat.send', { roomId, content: 'before the cut' });
    await waitForMessages(window.page, ['before the cut'], 'the first message live');
    const connectionsBefore = window.network.opened;

    await window.network.cut();
    await waitForAttribute(window.page.getByTestId('connection-status'), 'data-state', 'reconnecting', 'the page to notice the drop');
    await sendFromBrowser(window.page, 'typed while offline');
    await waitForAttribute(
      window.page.getByTestId('message').filter({ hasText: 'typed while offline' }),
      'data-status',
      'pending',
      'the offline message to wait in the outbox',
    );
    const gap = ['gap 1', 'gap 2', 'gap 3', 'gap 4', 'gap 5'];
    for (const content of gap) await bobClient.sendWithReceipt('/app/chat.send', { roomId, content });
    await waitFor(async () => (await storedCount(roomId)) === 1 + gap.length, {
      timeoutMs: SERVER_WAIT_MS,
      what: 'the gap messages to be stored',
    });
    expect(await messageTexts(window.page)).not.toContain('gap 1');

    window.network.restore();
    await waitConnected(window.page, 30_000);
    expect(window.network.opened).toBeGreaterThan(connectionsBefore);
    // Once the server has it, the offline message sits where the room has it: after the gap.
    await waitForMessages(window.page, ['before the cut', ...gap, 'typed while offline'], 'the gap filled, each message once');

    // The outbox resent the offline message with its own key: Bob gets it once, stored once.
    await waitFor(() => chatBodies(bobClient, roomId).some((body) => body.content === 'typed while offline'), {
      what: 'the offline message at Bob',
    });
    await waitFor(async () => (await storedCount(roomId)) === 2 + gap.length, {
      timeoutMs: SERVER_WAIT_MS,
      what: 'the offline message to be stored',
    });
    await waitForAttribute(
      window.page.getByTestId('message').filter({ hasText: 'typed while offline' }),
      'data-status',
      'sent',
      'the resend to be acknowledged',
    );
    expect(chatBodies(bobClient, roomId).filter((body) => body.content === 'typed while offline')).toHaveLength(1);
    await screenshot(window.page, 'after-reconnect');
  });

  it('should show a message containing markup as text without running it', async () => {
    const [alice, bob] = await Promise.all([signup(t.app), signup(t.app)]);
    await directRoom(alice, bob);
    const aliceWindow = await loggedInWindow(alice);
    const bobWindow = await loggedInWindow(bob);
    await openRoomByName(aliceWindow.page, bob.nickname);
    await openRoomByName(bobWindow.page, alice.nickname);

    const payload = '<img src=x onerror=alert(1)> <script>alert(2)</script> <b>bold?</b>';
    await sendFromBrowser(aliceWindow.page, payload);
    await waitForMessages(bobWindow.page, [payload], 'the markup message, as text, in Bob’s window');
    await waitForText(roomItem(bobWindow.page, alice.nickname).getByTestId('room-preview'), `${alice.nickname}: ${payload}`);

    // From history this time, the other way a message reaches the page.
    await bobWindow.page.reload();
    await waitForMessages(bobWindow.page, [payload], 'the markup message after a reload');
    for (const { page } of [aliceWindow, bobWindow]) {
      expect(
        await page.locator('[data-testid=message-list] img, [data-testid=message-list] script, [data-testid=message-list] b').count(),
      ).toBe(0);
      expect(await page.locator('[data-testid=room-list] img').count()).toBe(0);
    }
    await screenshot(bobWindow.page, 'markup-as-text');
    expect(aliceWindow.dialogs).toEqual([]);
    expect(bobWindow.dialogs).toEqual([]);
    expect([...aliceWindow.pageErrors, ...bobWindow.pageErrors]).toEqual([]);
  });
});
