import { Client, type IMessage, type StompConfig } from '@stomp/stompjs';
import WebSocket from 'ws';
import { createStompParser, SERVER_COMMANDS, type StompFrame } from '../../src/stomp/index.js';
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
export async function connectStomp(
  baseUrl: string,
  token: string | undefined,
  config: Partial<StompConfig> = {},
): Promise<TestStompClient> {
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
    ...config,
    // The helper's own bookkeeping runs first; a test's callbacks in `config` still run after it.
    onConnect: (frame) => {
      connected = true;
      config.onConnect?.(frame);
    },
    onStompError: (frame) => {
      errors.push(frame.headers.message ?? frame.body);
      failed = frame.headers.message ?? 'ERROR';
      config.onStompError?.(frame);
    },
    onWebSocketClose: (event) => {
      closes.push({ code: event.code, reason: event.reason });
      if (!connected) failed ??= `closed ${event.code}`;
      config.onWebSocketClose?.(event);
    },
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
      await waitFor(() => receiptHeaders || errors.length > errorsBefore || received('/user/queue/errors').length > userErrorsBefore, {
        timeoutMs: 30_000,
        what: `RECEIPT ${receipt}`,
      });
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

/**
 * A bare WebSocket that speaks STOMP by hand, for what a library client will not send: frames
 * before CONNECT, oversize or malformed frames, silence. Server frames are parsed with the
 * project's codec, so a malformed server frame fails the test instead of passing unseen.
 */
export interface RawStompSocket {
  ws: WebSocket;
  /** The subprotocol the server chose ('' for none). */
  protocol: string;
  frames: StompFrame[];
  heartbeats: number;
  /** Set when the socket closed. */
  closed: { code: number; reason: string } | undefined;
  /** A server frame the codec could not parse. */
  parseError: Error | undefined;
  send(data: string | Buffer, options?: { binary?: boolean }): void;
  /** The first frame with this command (waits for it), e.g. 'CONNECTED' or 'ERROR'. */
  frame(command: string, timeoutMs?: number): Promise<StompFrame>;
  waitForClose(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function openRawStomp(baseUrl: string, options: { protocols?: string[]; query?: string } = {}): Promise<RawStompSocket> {
  const ws = new WebSocket(`${wsUrl(baseUrl)}${options.query ?? ''}`, options.protocols ?? ['v12.stomp']);
  const raw: RawStompSocket = {
    ws,
    protocol: '',
    frames: [],
    heartbeats: 0,
    closed: undefined,
    parseError: undefined,
    send: (data, sendOptions) => ws.send(data, { binary: sendOptions?.binary ?? false }),
    async frame(command, timeoutMs = 10_000) {
      return waitFor(
        () => {
          if (raw.parseError) throw raw.parseError;
          return raw.frames.find((candidate) => candidate.command === command);
        },
        { timeoutMs, what: `${command} frame` },
      );
    },
    waitForClose: (timeoutMs = 10_000) => waitFor(() => raw.closed, { timeoutMs, what: 'WebSocket close' }),
    close: () => ws.close(),
  };
  const parser = createStompParser({
    commands: SERVER_COMMANDS,
    onFrame: (frame) => raw.frames.push(frame),
    onHeartbeat: () => {
      raw.heartbeats += 1;
    },
  });
  ws.on('message', (data: Buffer) => {
    if (raw.parseError) return;
    try {
      parser.push(data);
    } catch (error) {
      raw.parseError = error as Error;
    }
  });
  ws.on('close', (code, reason) => {
    raw.closed = { code, reason: reason.toString() };
  });
  // A refused or reset connection shows up as a close; the error itself needs no handling here.
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) => reject(new Error(`WebSocket upgrade refused: ${response.statusCode}`)));
    ws.once('close', (code) => reject(new Error(`WebSocket closed before open: ${code}`)));
  });
  raw.protocol = ws.protocol;
  return raw;
}
