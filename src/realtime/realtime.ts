import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { TokenService } from '../auth/tokens.js';
import { AppError, forbidden, unauthorized } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MessagePublisher } from '../messages/message-publisher.js';
import { roomEventTypeOf } from '../redis/room-events.js';
import type { UsersRepository } from '../users/users-repository.js';
import type { Destination } from './destinations.js';
import { parseSubscribeDestination, roomEventsTopic, roomTopic, STOMP_ENDPOINT } from './destinations.js';
import { createDeletedUserSweep } from './deleted-user-sweep.js';
import { createHeartbeatMonitor } from './heartbeat-monitor.js';
import type { MembershipCache } from './membership-cache.js';
import type { RoomFanIn } from './room-fanin.js';
import { DEFAULT_REALTIME_TIMINGS, type RealtimeTimings } from './realtime-settings.js';
import type { SessionIdentity } from './session/session-types.js';
import { StompSession, type SessionLimits, type SessionServices, type SessionUser } from './stomp-session.js';
import { SubscriptionRegistry } from './subscription-registry.js';
import { withTimeout } from '../with-timeout.js';

/**
 * Frames written to one socket in the same event-loop turn leave in one system call: RECEIPTs
 * arrive in bursts (one Kafka acknowledgement settles many SENDs) and so do room messages (one
 * Redis read carries many), and a write per frame was 9 % of the service's CPU under ingest.
 * Each frame is still its own WebSocket message. The socket is corked on its first write of a
 * turn and uncorked once the turn's I/O callbacks have run (setImmediate), so a lone frame waits
 * no longer than the rest of the turn.
 */
export function createWriteCoalescer() {
  let corked: Duplex[] = [];
  const flush = () => {
    const sockets = corked;
    corked = [];
    for (const socket of sockets) socket.uncork();
  };
  return (socket: Duplex | undefined) => {
    // ws keeps the TCP socket in a private field; without it, frames simply go out one by one.
    if (!socket || socket.writableCorked > 0 || socket.destroyed) return;
    socket.cork();
    if (corked.push(socket) === 1) setImmediate(flush);
  };
}

export interface RealtimeHooks {
  onConnected?(session: SessionIdentity): void;
  onClosed?(session: SessionIdentity): void;
  onFrame?(direction: 'in' | 'out', command: string): void;
  onRejected?(reason: string): void;
  onReadPaused?(): void;
  /** `payload` is a chat message's body as it came from Redis, for end-to-end latency. */
  onDelivered?(destination: string, count: number, payload?: Buffer): void;
}

export interface RealtimeDeps {
  instanceId: string;
  log: Logger;
  tokens: TokenService;
  users: UsersRepository;
  membership: MembershipCache;
  publisher: MessagePublisher;
  /** Handles `/app/chat.read`; absent until read receipts are wired. */
  readReceipts?: (user: SessionUser, body: Buffer) => Promise<{ durable: Promise<void> }>;
  limits?: Partial<SessionLimits>;
  timings?: Partial<RealtimeTimings>;
  hooks?: RealtimeHooks;
  serverName?: string;
}

/**
 * The live half of the service on one instance: STOMP sessions on /ws, the subscription
 * registry, heart-beats, and delivery of room messages arriving from Redis.
 */
export function createRealtime(deps: RealtimeDeps) {
  const timings = { ...DEFAULT_REALTIME_TIMINGS, ...deps.timings };
  const sessions = new Set<StompSession>();
  const coalesceWrites = createWriteCoalescer();
  const fanIns: { messages?: RoomFanIn; events?: RoomFanIn } = {};
  /** The Redis fan-in a room destination is fed by, and its room. */
  const roomFeed = (destination: Destination | undefined) => {
    if (destination?.kind === 'room') return { fanIn: fanIns.messages, roomId: destination.roomId };
    if (destination?.kind === 'room-events') return { fanIn: fanIns.events, roomId: destination.roomId };
    return undefined;
  };
  const registry = new SubscriptionRegistry(deps.instanceId, {
    onActive: (destination) => {
      const feed = roomFeed(parseSubscribeDestination(destination));
      if (feed) void feed.fanIn?.join(feed.roomId);
    },
    onIdle: (destination) => {
      const feed = roomFeed(parseSubscribeDestination(destination));
      if (feed) void feed.fanIn?.leave(feed.roomId);
    },
  });
  const heartbeats = createHeartbeatMonitor({
    sessions: () => sessions,
    idleProbeMs: timings.idleProbeMs,
    onSilent: (session) => deps.log.info({ session: session.id }, 'dropping silent STOMP client'),
    onError: (error, session) => deps.log.error({ err: error, session: session.id }, 'heart-beat check failed'),
  });
  const deletedUsers = createDeletedUserSweep({
    sessions: () => sessions,
    existingIds: deps.users.findExistingIds,
    intervalMs: timings.userSweepIntervalMs,
    log: deps.log,
  });

  const services: SessionServices = {
    async authenticate(token) {
      const claims = deps.tokens.verify(token);
      const user = await deps.users.findById(claims.userId);
      if (!user) throw unauthorized('User no longer exists');
      return { userId: user.id, email: user.email, nickname: user.nickname, expiresAt: claims.expiresAt };
    },
    async authorizeSubscribe(user, destination: Destination) {
      // A room's events say as much about it as its messages: the same members-only rule.
      const room = roomFeed(destination);
      if (room && !(await deps.membership.isMember(room.roomId, user.userId))) {
        throw forbidden(`not a member of room ${room.roomId}`);
      }
    },
    async subscribed(destination: Destination) {
      const feed = roomFeed(destination);
      if (!feed?.fanIn) return;
      // Bounded: with Redis away the SUBSCRIBE is queued until it returns, and the session's other
      // frames must not wait that long. Unconfirmed, the session undoes it and tells the client.
      await withTimeout(feed.fanIn.join(feed.roomId), timings.subscribeConfirmTimeoutMs, 'redis subscribe').catch((error: unknown) => {
        deps.log.warn({ err: error, roomId: feed.roomId }, 'room subscription not confirmed by redis in time');
        throw new AppError('UNAVAILABLE', 'subscription not confirmed in time; subscribe again');
      });
    },
    async send(session, destination, frame) {
      const user = session.user!;
      if (destination.kind === 'chat-send') {
        const { message, durable } = await deps.publisher.publish(user, frame.body);
        return { durable, receiptHeaders: { 'message-key': message.messageKey } };
      }
      if (destination.kind === 'chat-read' && deps.readReceipts) return deps.readReceipts(user, frame.body);
      throw new AppError('BAD_REQUEST', 'unsupported destination');
    },
    onConnected: (session) => deps.hooks?.onConnected?.(session),
    onClosed: (session) => {
      // A session reports itself.
      sessions.delete(session as StompSession);
      deps.hooks?.onClosed?.(session);
    },
    onFrame: deps.hooks?.onFrame,
    onRejected: deps.hooks?.onRejected,
    onReadPaused: deps.hooks?.onReadPaused,
  };

  function accept(socket: WebSocket, request: FastifyRequest): StompSession {
    const query = request.query as Record<string, unknown> | undefined;
    const queryToken = typeof query?.access_token === 'string' ? query.access_token : undefined;
    const tcp = (socket as unknown as { _socket?: Duplex })._socket;
    const session = new StompSession({
      transport: {
        send: (frame) => {
          coalesceWrites(tcp);
          socket.send(frame, { binary: false });
        },
        close: (code, reason) => socket.close(code, reason),
        terminate: () => socket.terminate(),
        bufferedAmount: () => socket.bufferedAmount,
        ping: () => socket.ping(),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      },
      registry,
      services,
      log: deps.log,
      limits: deps.limits,
      queryToken,
      serverName: deps.serverName ?? 'chat-backend/0.1.0',
    });
    sessions.add(session);
    // Handlers are attached synchronously, as @fastify/websocket requires, and never throw.
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      session.receive(chunk);
    });
    socket.on('pong', () => session.markAlive());
    socket.on('close', () => session.transportClosed());
    socket.on('error', (error) => {
      deps.log.debug({ err: error, session: session.id }, 'websocket error');
      session.transportClosed();
    });
    return session;
  }

  return {
    registry,
    sessions,
    /** The Redis fan-ins of room messages and of room events. */
    setFanIn(messages: RoomFanIn, events?: RoomFanIn) {
      fanIns.messages = messages;
      fanIns.events = events;
    },
    /** A chat message from Redis for a room: one MESSAGE per local subscriber. */
    deliverRoomMessage(roomId: number, payload: Buffer): number {
      const destination = roomTopic(roomId);
      const count = registry.deliver(destination, payload);
      deps.hooks?.onDelivered?.(destination, count, payload);
      return count;
    },
    /** A room event from Redis: one MESSAGE per local subscriber, its type in the `event` header. */
    deliverRoomEvent(roomId: number, payload: Buffer): number {
      const type = roomEventTypeOf(payload);
      if (!type) {
        deps.log.warn({ roomId }, 'room event without a type: not delivered');
        return 0;
      }
      const destination = roomEventsTopic(roomId);
      const count = registry.deliver(destination, payload, { headers: { event: type } });
      deps.hooks?.onDelivered?.(destination, count);
      return count;
    },
    async registerRoute(app: FastifyInstance) {
      app.get(STOMP_ENDPOINT, { websocket: true, schema: { hide: true } }, (socket, request) => {
        accept(socket, request);
      });
    },
    /** Lets in-flight SENDs finish (they get their RECEIPTs), then closes every socket with `code`. */
    async closeAll(code = 1001, reason = 'server shutting down'): Promise<void> {
      await Promise.allSettled([...sessions].map((session) => session.drain()));
      for (const session of [...sessions]) session.close(code, reason);
    },
    stop() {
      heartbeats.stop();
      deletedUsers.stop();
    },
  };
}

export type Realtime = ReturnType<typeof createRealtime>;
