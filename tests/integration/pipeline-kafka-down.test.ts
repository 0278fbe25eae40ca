import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabaseExists, migrateDatabase } from '../../src/db/migrate.js';
import { bearer, signup, type SignedUpUser } from '../helpers/http.js';
import { DEAD_PORT } from '../helpers/services.js';
import { connectStomp, type TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * An instance whose Kafka is unreachable: PostgreSQL and Redis answer, so the SEND passes the
 * membership check and fails only where durability is decided. A RECEIPT promises the message
 * is in Kafka; here the client must get an error instead, and soon.
 */
const isolation = testEnv({ KAFKA_BROKERS: `127.0.0.1:${DEAD_PORT}` });
/** The producer's own delivery timeout is 15 s; an unconnected producer must answer far sooner. */
const ANSWER_WITHIN_MS = 16_000;
let t: TestApp;
let alice: SignedUpUser;
let roomId: number;
const clients: TestStompClient[] = [];

beforeAll(async () => {
  // Without waiting for dependencies the app migrates in the background; do it first instead.
  await ensureDatabaseExists(isolation.databaseUrl);
  await migrateDatabase(isolation.databaseUrl);
  t = await startTestApp(isolation, { overrides: { waitForDependencies: false } });
  alice = await signup(t.app);
  const bob = await signup(t.app);
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms/direct',
    headers: bearer(alice.token),
    payload: { targetUserId: bob.userId },
  });
  expect(room.statusCode, room.body).toBe(201);
  roomId = room.json().roomId;
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await t?.close();
  await cleanupTestEnv(isolation);
});

async function connect(): Promise<TestStompClient> {
  const client = await connectStomp(t.baseUrl, alice.token);
  clients.push(client);
  return client;
}

describe('SEND while Kafka is unreachable', () => {
  it('should answer on /user/queue/errors with the receipt id, never with a RECEIPT', async () => {
    const client = await connect();
    await client.subscribe('/user/queue/errors');
    let receipted = false;
    client.client.watchForReceipt('kafka-down-1', () => {
      receipted = true;
    });

    const startedAt = Date.now();
    client.client.publish({
      destination: '/app/chat.send',
      body: JSON.stringify({ roomId, content: 'lost?' }),
      headers: { receipt: 'kafka-down-1' },
    });
    const error = await waitFor(() => client.received('/user/queue/errors')[0], {
      timeoutMs: ANSWER_WITHIN_MS,
      what: 'an error for the SEND',
    });
    const answeredAfterMs = Date.now() - startedAt;

    expect(error.headers['receipt-id']).toBe('kafka-down-1');
    expect(JSON.parse(error.body)).toMatchObject({
      message: 'message not stored: the message broker did not acknowledge it; send it again',
      destination: '/app/chat.send',
      receiptId: 'kafka-down-1',
    });
    expect(answeredAfterMs).toBeLessThan(ANSWER_WITHIN_MS);
    // Frames are answered in order: once a later SUBSCRIBE is acknowledged, a RECEIPT for the SEND
    // would have been written already.
    await client.subscribe(`/topic/room.${roomId}`);
    expect(receipted).toBe(false);
    expect(client.client.connected).toBe(true);
  });

  it('should answer a client not subscribed to errors with an ERROR frame that names the receipt', async () => {
    const client = await connect();
    let receipted = false;
    client.client.watchForReceipt('kafka-down-2', () => {
      receipted = true;
    });
    const errorHeaders: Record<string, string>[] = [];
    const recordError = client.client.onStompError;
    client.client.onStompError = (frame) => {
      errorHeaders.push(frame.headers);
      recordError(frame);
    };

    client.client.publish({
      destination: '/app/chat.send',
      body: JSON.stringify({ roomId, content: 'lost?' }),
      headers: { receipt: 'kafka-down-2' },
    });
    await waitFor(() => client.errors.length > 0, { timeoutMs: ANSWER_WITHIN_MS, what: 'an ERROR frame' });

    expect(errorHeaders[0]).toMatchObject({
      message: 'message not stored: the message broker did not acknowledge it; send it again',
      'receipt-id': 'kafka-down-2',
    });
    await waitFor(() => client.closes.length > 0, { what: 'the connection closed after ERROR' });
    expect(receipted).toBe(false);
  });
});
