import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A page written for the Spring version, run unchanged (issue 16): the Spring guide's client
 * (jmesnil stompjs 2.3.3, `Stomp.over(new WebSocket(url))`, `connect(headers, callback)`,
 * `subscribe('/topic/room.N', …)`, `send('/app/chat.send', {}, JSON.stringify(…))`) in Chromium.
 * The page comes from a static server of its own on another port, as a front end usually does.
 * It parses every MESSAGE on the room topic as a chat message, so anything else there would show
 * up as an empty bubble.
 */

const STOMP_JS = new URL('../fixtures/stompjs-2.3.3/stomp.js', import.meta.url);

/** The guide's app.js, adapted only as the issue describes: a token, a room, a chat message body. */
const SPRING_PAGE = `<!doctype html>
<html>
<head><title>Spring guide client</title><script src="stomp.js"></script></head>
<body>
<ul id="conversation"></ul>
<script>
  var stompClient = null;
  var received = [];

  function connect(url, token, roomId) {
    var socket = new WebSocket(url);
    stompClient = Stomp.over(socket);
    stompClient.connect({ Authorization: 'Bearer ' + token }, function (frame) {
      console.log('Connected: ' + frame);
      stompClient.subscribe('/topic/room.' + roomId, function (message) {
        showMessage(JSON.parse(message.body), message.headers);
      });
    });
  }

  function sendMessage(roomId, content) {
    stompClient.send('/app/chat.send', {}, JSON.stringify({ roomId: roomId, content: content }));
  }

  function showMessage(message, headers) {
    received.push({ message: message, headers: headers });
    var item = document.createElement('li');
    item.textContent = message.senderNickname + ': ' + message.content;
    document.getElementById('conversation').appendChild(item);
  }
</script>
</body>
</html>`;

const isolation = testEnv();
let t: TestApp;
let browser: Browser;
let alice: SignedUpUser;
let bob: SignedUpUser;
let roomId: number;
let pages: Server;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  [t, browser] = await Promise.all([startTestApp(isolation), launchBrowser()]);
  [alice, bob] = await Promise.all([signup(t.app, { nickname: 'alice' }), signup(t.app, { nickname: 'bob' })]);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode, room.body).toBe(201);
  roomId = room.json().roomId;
  const stompJs = await readFile(STOMP_JS, 'utf8');
  pages = createServer((request, response) => {
    const script = request.url === '/stomp.js';
    response.writeHead(200, { 'content-type': script ? 'text/javascript' : 'text/html' }).end(script ? stompJs : SPRING_PAGE);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  pages?.close();
  await Promise.all(clients.map((client) => client.close()));
  await browser?.close();
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

interface Shown {
  message: Record<string, unknown>;
  headers: Record<string, string>;
}

async function openSpringPage(): Promise<{ page: Page; pageErrors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/index.html`);
  return { page, pageErrors };
}

const shown = (page: Page) => page.evaluate(() => (window as unknown as { received: Shown[] }).received);

describe('a client written for the Spring version', () => {
  it('should get every chat message on /topic/room.N and nothing else while the other member sends and marks read; the read events go to /topic/room.N.events', async () => {
    const { page, pageErrors } = await openSpringPage();
    const topic = `/topic/room.${roomId}`;
    const url = `${t.baseUrl.replace(/^http/, 'ws')}/ws`;
    await page.evaluate(
      ([ws, token, room]) => (window as unknown as { connect(u: string, t: string, r: number): void }).connect(ws, token, room),
      [url, alice.token, roomId] as const,
    );
    // stompjs 2.x asks no RECEIPT for its SUBSCRIBE: wait until the server holds the subscription.
    await waitFor(() => t.app.realtime.registry.subscriberCount(topic) === 1 && t.app.pipeline.fanIn.channels().includes(roomId), {
      timeoutMs: 15_000,
      what: 'the page subscribed',
    });

    // The other member, on @stomp/stompjs, also listens to the room's events.
    const b = await connectStomp(t.baseUrl, bob.token);
    clients.push(b);
    await b.subscribe(topic);
    await b.subscribe(`${topic}.events`);

    const sent: string[] = [];
    const sendFromPage = async (content: string) => {
      sent.push(content);
      await page.evaluate(([room, text]) => (window as unknown as { sendMessage(r: number, c: string): void }).sendMessage(room, text), [
        roomId,
        content,
      ] as const);
      await waitFor(() => b.bodies<{ content: string }>(topic).some((message) => message.content === content), {
        timeoutMs: 15_000,
        what: `"${content}" delivered`,
      });
    };
    const sendFromBob = async (content: string) => {
      sent.push(content);
      return (await b.sendWithReceipt('/app/chat.send', { roomId, content }))['message-key']!;
    };
    const idOf = (key: string) =>
      waitFor(async () => (await t.app.deps.database.sql<{ id: number }[]>`select id from messages where message_key = ${key}`)[0]?.id, {
        timeoutMs: 15_000,
        what: `message ${key} stored`,
      });

    await sendFromPage('hello from the Spring page');
    const first = await sendFromBob('hi alice');
    await sendFromBob('how are you?');
    // Bob reads alice's message over REST, alice's page is read over REST too, bob reads by key over STOMP.
    const fromPage = b.bodies<{ content: string; messageKey: string }>(topic).find((message) => message.content === sent[0])!.messageKey;
    const read = (user: SignedUpUser, lastReadMessageId: number) =>
      t.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/read`, headers: bearer(user.token), payload: { lastReadMessageId } });
    expect((await read(bob, await idOf(fromPage))).statusCode).toBe(202);
    expect((await read(alice, await idOf(first))).statusCode).toBe(202);
    await sendFromPage('fine, thanks');
    const last = await sendFromBob('good');
    await idOf(last);
    await b.sendWithReceipt('/app/chat.read', { roomId, lastReadMessageKey: last });

    const readEvents = () => b.received(`${topic}.events`);
    await waitFor(() => readEvents().length === 3, { timeoutMs: 15_000, what: 'three READ events on the events topic' });
    expect(readEvents().map((event) => [event.headers.event, JSON.parse(event.body).type, JSON.parse(event.body).userId])).toEqual([
      ['READ', 'READ', bob.userId],
      ['READ', 'READ', alice.userId],
      ['READ', 'READ', bob.userId],
    ]);

    // A last message after every event: the page has had every chance to see anything misrouted.
    await sendFromBob('bye');
    await waitFor(async () => (await shown(page)).length >= sent.length, { timeoutMs: 15_000, what: 'the page to show every message' });
    const onPage = await shown(page);
    expect(onPage.map((entry) => entry.message.content)).toEqual(sent);
    for (const entry of onPage) {
      expect(entry.message).toEqual({
        messageKey: expect.stringMatching(/^[0-9a-f-]{36}$/),
        roomId,
        senderId: expect.any(Number),
        senderNickname: expect.stringMatching(/^(alice|bob)$/),
        content: expect.any(String),
        type: 'TEXT',
        timestamp: expect.any(String),
      });
      expect(entry.headers.event).toBeUndefined();
      expect(entry.headers.destination).toBe(topic);
    }
    expect(pageErrors).toEqual([]);
    expect(await page.locator('#conversation li').allTextContents()).toEqual(
      onPage.map((entry) => `${entry.message.senderNickname}: ${entry.message.content}`),
    );
    await page.context().close();
  });
});
