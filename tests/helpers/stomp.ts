import { Client, type IMessage, type StompConfig } from '@stomp/stompjs';
import WebSocket from 'ws';
import { waitFor } from './wait.js';

export interface TestStompClient {
  client: Client;
  /** Every MESSAGE received, per destination. */
  messages: Map<string, IMessage[]>;
  errors: string[];
  closes: { code: number; reason: string }[];
  subscribe(destination: string, headers?: Record<string, string>): Promise<void>;
  received(destination: string): IMessage[];
  bodies<T = unknown>(destination: string): T[];
  /** SEND with a receipt; resolves with the RECEIPT headers, rejects on an ERROR or a per-session error. */
  sendWithReceipt(destination: string, body: unknown, headers?: Record<string, string>): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}/ws`;

let receiptCounter = 0;

/** A real @stomp/stompjs client over `ws`, connected (CONNECTED received) when this resolves. */
export async function connectStomp(baseUrl: string, token: string | undefined, config: Partial<StompConfig> = {}): Promise<TestStompClient> {
  const messages = new Map<string, IMessage[]>();
  const errors: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  let connected = false;
  let failed: string | undefined;
  const client = new Client({
    webSocketFactory: () => new WebSocket(wsUrl(baseUrl), ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    connectHeaders: token ? { Authorization: `Bearer ${token}` } : {},
    reconnectDelay: 0,
    heartbeatIncoming: 10_000,
    heartbeatOutgoing: 10_000,
    onConnect: () => {
      connected = true;
    },
    onStompError: (frame) => {
      errors.push(frame.headers.message ?? frame.body);
      failed = frame.headers.message ?? 'ERROR';
    },
    onWebSocketClose: (event) => {
      closes.push({ code: event.code, reason: event.reason });
      if (!connected) failed ??= `closed ${event.code}`;
    },
    ...config,
  });
  client.activate();
  try {
    await waitFor(() => connected || failed, { timeoutMs: 10_000, what: 'STOMP CONNECTED' });
  } catch (error) {
    await client.deactivate();
    throw error;
  }
  if (!connected) {
    await client.deactivate();
    throw new Error(`STOMP connect refused: ${failed}`);
  }

  const received = (destination: string) => messages.get(destination) ?? [];
  const record = (destination: string, message: IMessage) => {
    const list = messages.get(destination) ?? [];
    list.push(message);
    messages.set(destination, list);
  };

  return {
    client,
    messages,
    errors,
    closes,
    async subscribe(destination, headers = {}) {
      receiptCounter += 1;
      const receipt = `sub-receipt-${receiptCounter}`;
      let got = false;
      client.watchForReceipt(receipt, () => {
        got = true;
      });
      client.subscribe(destination, (message) => record(destination, message), { ...headers, receipt });
      await waitFor(() => got || errors.length > 0, { timeoutMs: 10_000, what: `SUBSCRIBE receipt for ${destination}` });
      if (!got) throw new Error(`SUBSCRIBE refused: ${errors.at(-1)}`);
    },
    received,
    bodies: <T>(destination: string) => received(destination).map((message) => JSON.parse(message.body) as T),
    async sendWithReceipt(destination, body, headers = {}) {
      receiptCounter += 1;
      const receipt = `send-receipt-${receiptCounter}`;
      let receiptHeaders: Record<string, string> | undefined;
      client.watchForReceipt(receipt, (frame) => {
        receiptHeaders = frame.headers;
      });
      const errorsBefore = errors.length;
      const userErrorsBefore = received('/user/queue/errors').length;
      client.publish({ destination, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { ...headers, receipt } });
      await waitFor(
        () => receiptHeaders || errors.length > errorsBefore || received('/user/queue/errors').length > userErrorsBefore,
        { timeoutMs: 30_000, what: `RECEIPT ${receipt}` },
      );
      if (!receiptHeaders) {
        const userError = received('/user/queue/errors').at(-1);
        throw new Error(`SEND refused: ${userError ? userError.body : errors.at(-1)}`);
      }
      return receiptHeaders;
    },
    async close() {
      await client.deactivate();
    },
  };
}
