import { randomUUID } from 'node:crypto';
import { Client, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { wsUrl } from './stomp.js';
import { waitFor } from './wait.js';

/**
 * Steady chat traffic for the fault tests, and the bookkeeping that lets a test say afterwards
 * exactly what happened to every message.
 *
 * - One sender per room, each a STOMP.js client with its own message keys, asking a RECEIPT for
 *   every SEND and subscribed to /user/queue/errors, so every SEND ends in exactly one of:
 *   RECEIPT (acknowledged), a per-session error (refused), or the connection closing first
 *   (unanswered: the client cannot know). Contents carry a per-room sequence number, so order can
 *   be checked in PostgreSQL and at the subscribers.
 * - Watchers: one user who is a member of every room, connected to a given instance and
 *   subscribed to every room. A watcher that loses its connection reconnects (to whichever
 *   instance is alive), subscribes again and, once the SUBSCRIBE RECEIPTs are in, reads what it
 *   missed through `GET /api/rooms/{id}/messages?after=<newest id it knew>`, as the browser client does.
 * - Clients pick their instance from `endpoints`, so a test that kills an instance removes it
 *   there and reconnects go to the survivor.
 */

export interface ApiUser {
  token: string;
  userId: number;
}

export async function api<T>(baseUrl: string, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Instances clients may connect to; a killed one is removed so reconnects go elsewhere. */
export class Endpoints {
  private readonly alive: string[];
  constructor(baseUrls: string[]) {
    this.alive = [...baseUrls];
  }
  /** The instance for client number `index`, spreading clients over the live ones. */
  for(index: number): string {
    if (this.alive.length === 0) throw new Error('no live instance');
    return this.alive[index % this.alive.length]!;
  }
  remove(baseUrl: string): void {
    const at = this.alive.indexOf(baseUrl);
    if (at >= 0) this.alive.splice(at, 1);
  }
  add(baseUrl: string): void {
    if (!this.alive.includes(baseUrl)) this.alive.push(baseUrl);
  }
  list(): string[] {
    return [...this.alive];
  }
}

export interface ChatWorld {
  watcher: ApiUser;
  rooms: { roomId: number; sender: ApiUser }[];
}

/** A watcher who is in every room, and one sender per room (a group of the two). */
export async function createChatWorld(baseUrl: string, options: { rooms: number; tag: string }): Promise<ChatWorld> {
  const signup = (name: string) =>
    api<ApiUser>(baseUrl, 'POST', '/api/auth/signup', {
      body: { email: `${name}_${options.tag}@example.com`, password: 'correct horse battery', nickname: name },
    });
  const watcher = await signup('watcher');
  const rooms: ChatWorld['rooms'] = [];
  for (let index = 0; index < options.rooms; index += 1) {
    const sender = await signup(`sender${index}`);
    const room = await api<{ roomId: number }>(baseUrl, 'POST', '/api/rooms/group', {
      token: sender.token,
      body: { name: `fault room ${index}`, memberIds: [watcher.userId] },
    });
    rooms.push({ roomId: room.roomId, sender });
  }
  return { watcher, rooms };
}

export type SendState = 'pending' | 'receipted' | 'refused' | 'unanswered';

export interface SentMessage {
  messageKey: string;
  roomId: number;
  seq: number;
  phase: string;
  sentAt: number;
  state: SendState;
  answeredAt?: number;
  /** Error code of a refusal. */
  refusal?: string;
}

/** The content of a traffic message: `<phase> #<seq>`, so a row tells where it came from. */
export const seqOf = (content: string): number => Number(/#(\d+)$/.exec(content)?.[1] ?? NaN);

function stompClient(options: { url: () => string; token: string; onConnect: (client: Client) => void; onClose: () => void }): Client {
  const client = new Client({
    webSocketFactory: () => new WebSocket(wsUrl(options.url()), ['v12.stomp']),
    connectHeaders: { Authorization: `Bearer ${options.token}` },
    reconnectDelay: 250,
    heartbeatIncoming: 10_000,
    heartbeatOutgoing: 10_000,
    onConnect: () => options.onConnect(client),
    onWebSocketClose: () => options.onClose(),
    // Fatal ERRORs are counted by the owner through the close that follows.
    onStompError: () => {},
    debug: () => {},
  });
  return client;
}

/** One room's sender. */
class RoomSender {
  readonly messages: SentMessage[] = [];
  private readonly pending = new Map<string, SentMessage>();
  private readonly client: Client;
  private ready = false;
  private seq = 0;
  connects = 0;
  heldBack = 0;

  constructor(
    readonly roomId: number,
    token: string,
    url: () => string,
    private readonly maxPending: number,
  ) {
    this.client = stompClient({
      url,
      token,
      onConnect: (client) => {
        this.connects += 1;
        const receipt = `errors-${randomUUID()}`;
        client.watchForReceipt(receipt, () => {
          this.ready = true;
        });
        client.subscribe('/user/queue/errors', (message) => this.refused(message), { receipt });
      },
      onClose: () => {
        this.ready = false;
        const now = Date.now();
        // Nothing more will be said about these on this connection, and a new one knows nothing of them.
        for (const message of this.pending.values()) {
          message.state = 'unanswered';
          message.answeredAt = now;
        }
        this.pending.clear();
      },
    });
  }

  start(): void {
    this.client.activate();
  }

  get isReady(): boolean {
    return this.ready && this.client.connected;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** One SEND now, if connected and not too far behind; false when it was not sent. */
  send(phase: string): boolean {
    if (!this.isReady || this.pending.size >= this.maxPending) {
      this.heldBack += 1;
      return false;
    }
    const seq = this.seq;
    const message: SentMessage = { messageKey: randomUUID(), roomId: this.roomId, seq, phase, sentAt: Date.now(), state: 'pending' };
    const receipt = `send-${message.messageKey}`;
    this.client.watchForReceipt(receipt, () => {
      if (this.pending.get(receipt) !== message) return;
      this.pending.delete(receipt);
      message.state = 'receipted';
      message.answeredAt = Date.now();
    });
    try {
      this.client.publish({
        destination: '/app/chat.send',
        body: JSON.stringify({ roomId: this.roomId, content: `${phase} #${seq}`, messageKey: message.messageKey }),
        headers: { receipt },
      });
    } catch {
      // The connection went away after the check: this one never left.
      this.heldBack += 1;
      return false;
    }
    this.seq += 1;
    this.pending.set(receipt, message);
    this.messages.push(message);
    return true;
  }

  private refused(frame: IMessage): void {
    const receipt = frame.headers['receipt-id'];
    const message = receipt ? this.pending.get(receipt) : undefined;
    if (!receipt || !message) return;
    this.pending.delete(receipt);
    message.state = 'refused';
    message.answeredAt = Date.now();
    try {
      message.refusal = (JSON.parse(frame.body) as { code?: string }).code ?? 'unknown';
    } catch {
      message.refusal = 'unknown';
    }
  }

  async stop(): Promise<void> {
    await this.client.deactivate();
  }
}

export interface Delivery {
  messageKey: string;
  roomId: number;
  seq: number;
  at: number;
}

/** A subscriber of every room, counting what reaches it live and what it fills in from history. */
export class Watcher {
  readonly live: Delivery[] = [];
  readonly liveKeys = new Map<string, number>();
  readonly filledKeys = new Set<string>();
  /** Close times of its connections, to tell "connected throughout" from "reconnected". */
  readonly closes: number[] = [];
  /** When each (re)connection had all its SUBSCRIBE RECEIPTs. */
  readonly readyAt: number[] = [];
  connects = 0;
  gapFills = 0;
  private ready = false;
  private readonly client: Client;
  /** Newest message id per room this client has seen in history: where its gap fill starts. */
  private readonly newestKnown = new Map<number, number>();
  private filling: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly user: ApiUser,
    private readonly roomIds: number[],
    private readonly url: () => string,
  ) {
    this.client = stompClient({
      url,
      token: user.token,
      onConnect: (client) => this.subscribeAll(client),
      onClose: () => {
        if (this.ready || this.connects > 0) this.closes.push(Date.now());
        this.ready = false;
      },
    });
  }

  get isReady(): boolean {
    return this.ready && this.client.connected;
  }

  start(): void {
    this.client.activate();
  }

  private subscribeAll(client: Client): void {
    this.connects += 1;
    const reconnect = this.connects > 1;
    let confirmed = 0;
    for (const roomId of this.roomIds) {
      const receipt = `watch-${roomId}-${randomUUID()}`;
      client.watchForReceipt(receipt, () => {
        confirmed += 1;
        if (confirmed < this.roomIds.length) return;
        this.ready = true;
        this.readyAt.push(Date.now());
        // Only now: a message sent after the RECEIPTs comes live, one before is in the database or on its way.
        if (reconnect) this.filling = this.filling.then(() => this.fillGap().catch(() => {}));
      });
      client.subscribe(`/topic/room.${roomId}`, (frame) => this.deliver(frame), { receipt });
    }
  }

  private deliver(frame: IMessage): void {
    const body = JSON.parse(frame.body) as { messageKey?: string; roomId?: number; content?: string };
    // The room topic carries chat messages only; anything else would be a defect the audit should see.
    if (!body.messageKey || body.roomId === undefined || body.content === undefined) return;
    this.live.push({ messageKey: body.messageKey, roomId: body.roomId, seq: seqOf(body.content), at: Date.now() });
    this.liveKeys.set(body.messageKey, (this.liveKeys.get(body.messageKey) ?? 0) + 1);
  }

  /** Remembers the newest id of every room, as a client showing each room's history knows it. */
  async checkpoint(): Promise<void> {
    for (const roomId of this.roomIds) {
      const page = await api<{ messages: { id: number }[] }>(this.url(), 'GET', `/api/rooms/${roomId}/messages?size=1`, {
        token: this.user.token,
      });
      this.newestKnown.set(roomId, page.messages[0]?.id ?? 0);
    }
  }

  /** Reads every room's messages newer than the last checkpoint, page by page. */
  async fillGap(): Promise<void> {
    this.gapFills += 1;
    for (const roomId of this.roomIds) {
      let after = this.newestKnown.get(roomId) ?? 0;
      for (;;) {
        const page = await api<{ messages: { id: number; messageKey: string }[]; hasMore: boolean }>(
          this.url(),
          'GET',
          `/api/rooms/${roomId}/messages?after=${after}&size=100`,
          { token: this.user.token },
        );
        for (const message of page.messages) this.filledKeys.add(message.messageKey);
        const last = page.messages.at(-1);
        if (!page.hasMore || !last) break;
        after = last.id;
      }
    }
  }

  /** Waits for the gap fill started by the last reconnect. */
  async gapFilled(): Promise<void> {
    await this.filling;
  }

  connectedThroughout(from: number, to: number): boolean {
    return !this.closes.some((at) => at >= from && at <= to);
  }

  async stop(): Promise<void> {
    await this.client.deactivate();
  }
}

/**
 * Sends `ratePerSecond` messages in total, spread evenly over the rooms, from a 20 ms ticker that
 * catches up by elapsed time (so the rate holds whatever the timer jitter).
 */
export class Traffic {
  readonly senders: RoomSender[];
  private timer: NodeJS.Timeout | undefined;
  private phase = 'idle';
  private next = 0;
  private sentSinceStart = 0;
  private startedAt = 0;

  constructor(
    world: ChatWorld,
    endpoints: Endpoints,
    private readonly ratePerSecond: number,
    options: { maxPendingPerRoom?: number } = {},
  ) {
    this.senders = world.rooms.map(
      (room, index) => new RoomSender(room.roomId, room.sender.token, () => endpoints.for(index), options.maxPendingPerRoom ?? 400),
    );
  }

  async connect(): Promise<void> {
    for (const sender of this.senders) sender.start();
    await waitFor(() => this.senders.every((sender) => sender.isReady), { timeoutMs: 20_000, what: 'every sender connected' });
  }

  /** Starts (or continues) sending; messages sent from now on belong to `phase`. */
  run(phase: string): void {
    this.phase = phase;
    if (this.timer) return;
    this.startedAt = Date.now();
    this.sentSinceStart = 0;
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - this.startedAt) * this.ratePerSecond) / 1000) - this.sentSinceStart;
      for (let count = 0; count < due; count += 1) {
        const sender = this.senders[this.next % this.senders.length]!;
        this.next += 1;
        this.sentSinceStart += 1;
        sender.send(this.phase);
      }
    }, 20);
  }

  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  messages(phase?: string): SentMessage[] {
    const all = this.senders.flatMap((sender) => sender.messages);
    return phase === undefined ? all : all.filter((message) => message.phase === phase);
  }

  inFlight(): number {
    return this.senders.reduce((sum, sender) => sum + sender.inFlight, 0);
  }

  heldBack(): number {
    return this.senders.reduce((sum, sender) => sum + sender.heldBack, 0);
  }

  /** Waits until every SEND so far has its answer (or lost its connection). */
  async settle(timeoutMs: number): Promise<void> {
    await waitFor(() => this.inFlight() === 0, {
      timeoutMs,
      intervalMs: 100,
      what: `answers to every SEND (${this.inFlight()} outstanding)`,
    });
  }

  async stop(): Promise<void> {
    this.pause();
    await Promise.all(this.senders.map((sender) => sender.stop()));
  }
}
