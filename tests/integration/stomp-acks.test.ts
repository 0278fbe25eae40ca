import type { IMessage } from '@stomp/stompjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { connectStomp, openRawStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 9 with STOMP.js against a running instance: `ack:client` and `client-individual`
 * subscriptions get MESSAGEs with an `ack` header and ACK/NACK settle them; a client written for
 * Spring's simple broker (which ignored both) keeps working; and a heart-beat EOL split over two
 * WebSocket messages is not taken for a stalled frame.
 */
const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '1000', STOMP_FRAME_TIMEOUT_MS: '1500' });
let t: TestApp;
let alice: SignedUpUser;
let roomId: number;
let topic: string;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  t = await startTestApp(isolation);
  alice = await signup(t.app);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/group',
    headers: bearer(alice.token),
    payload: { name: 'acks', memberIds: [] },
  });
  roomId = room.json().roomId;
  topic = `/topic/room.${roomId}`;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function stomp(): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, alice.token);
  clients.push(client);
  return client;
}

async function sendThree(client: TestStompClient, tag: string): Promise<IMessage[]> {
  const before = client.received(topic).length;
  for (let index = 1; index <= 3; index += 1) await client.sendWithReceipt('/app/chat.send', { roomId, content: `${tag} ${index}` });
  await waitFor(() => client.received(topic).length >= before + 3, { what: 'three messages' });
  return client.received(topic).slice(before, before + 3);
}

/** Runs `act` with a receipt header and waits for its RECEIPT, or for an ERROR. */
async function answered(client: TestStompClient, act: (headers: { receipt: string }) => void): Promise<string> {
  const receipt = `r-${Date.now()}-${Math.random()}`;
  let got = false;
  client.client.watchForReceipt(receipt, () => {
    got = true;
  });
  const errors = client.errors.length;
  act({ receipt });
  await waitFor(() => got || client.errors.length > errors, { what: `an answer to ${receipt}` });
  return got ? 'RECEIPT' : `ERROR ${client.errors.at(-1)}`;
}

describe('STOMP acknowledgement modes with STOMP.js', () => {
  it('should put an ack header on every MESSAGE of an ack:client-individual subscription and settle ACK and NACK', async () => {
    const client = await stomp();
    await client.subscribe(topic, { ack: 'client-individual' });
    const messages = await sendThree(client, 'individual');
    const acks = messages.map((message) => message.headers.ack);
    expect(new Set(acks).size).toBe(3);
    expect(acks.every((ack) => typeof ack === 'string' && ack.length > 0)).toBe(true);
    expect(await answered(client, (headers) => messages[1]!.nack(headers))).toBe('RECEIPT');
    expect(await answered(client, (headers) => messages[0]!.ack(headers))).toBe('RECEIPT');
    expect(await answered(client, (headers) => messages[2]!.ack(headers))).toBe('RECEIPT');
    expect(client.closes).toEqual([]);
  });

  it('should settle every earlier message with one ACK on an ack:client subscription', async () => {
    const client = await stomp();
    await client.subscribe(topic, { ack: 'client' });
    const messages = await sendThree(client, 'cumulative');
    expect(await answered(client, (headers) => messages[2]!.ack(headers))).toBe('RECEIPT');
    // Already settled by the cumulative ACK: a repeat settles nothing and is no error.
    expect(await answered(client, (headers) => messages[0]!.ack(headers))).toBe('RECEIPT');
    expect(client.closes).toEqual([]);
  });

  it('should refuse an ACK naming no message of this connection with ERROR', async () => {
    const client = await stomp();
    await client.subscribe(topic, { ack: 'client' });
    // STOMP.js numbers subscriptions sub-0, sub-1…: this connection's only one is sub-0.
    const answer = await answered(client, (headers) => client.client.ack('not-ours-1', 'sub-0', headers));
    expect(answer).toBe('ERROR unknown ack id');
  });

  it('should keep a Spring-era client that acknowledges auto-subscription messages working', async () => {
    const client = await stomp();
    await client.subscribe(topic);
    const messages = await sendThree(client, 'spring');
    expect(messages[0]!.headers.ack).toBeUndefined();
    // What a client written against Spring's simple broker (which ignored ACK and NACK) may send:
    // the message-id of an auto-acknowledged MESSAGE, also once the connection has an ack:client
    // subscription elsewhere.
    const ackAuto = (headers: { receipt: string }) => client.client.ack(messages[0]!.headers['message-id']!, 'sub-0', headers);
    expect(await answered(client, ackAuto)).toBe('RECEIPT');
    await client.subscribe('/topic/presence', { ack: 'client' });
    expect(await answered(client, ackAuto)).toBe('RECEIPT');
    expect(client.closes).toEqual([]);
  });
});

describe('STOMP heart-beats split over WebSocket messages', () => {
  it('should keep a client whose heart-beat CR and LF arrive in separate WebSocket messages', async () => {
    const socket = await openRawStomp(t.baseUrl);
    socket.send(`CONNECT\naccept-version:1.2\nheart-beat:1000,0\nAuthorization:Bearer ${alice.token}\n\n\0`);
    await socket.frame('CONNECTED');
    const until = Date.now() + 3 * t.config.STOMP_FRAME_TIMEOUT_MS;
    while (Date.now() < until && !socket.closed) {
      socket.send('\r');
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.send('\n');
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    expect(socket.closed).toBeUndefined();
    expect(socket.frames.map((frame) => frame.command)).toEqual(['CONNECTED']);
    socket.close();
  });
});
