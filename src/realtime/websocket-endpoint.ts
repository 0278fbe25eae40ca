import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { isWebSocketHandshake, serveUpgradeOffersAsRequests } from '../http/upgrade-offers.js';
import { DEFAULT_PARSER_LIMITS, selectSubprotocol } from '../stomp/index.js';
import { STOMP_ENDPOINT } from './destinations.js';
import type { Realtime } from './realtime.js';

const WEBSOCKET_CLOSE_GRACE_MS = 2_000;

/**
 * The STOMP endpoint at /ws and its part in shutdown. `onShutdownStarted` runs first, so the
 * instance stops reporting ready before its sockets go.
 */
export async function registerWebSocketEndpoint(
  app: FastifyInstance,
  realtime: Realtime,
  options: { onShutdownStarted(): void },
): Promise<void> {
  await app.register(websocket, {
    options: {
      // ws refuses a single message over this (close 1009) before buffering it. Twice the STOMP
      // frame limit, so a frame just over the limit still reaches the parser and gets an ERROR
      // naming the limit; the parser enforces the frame limit however the frame is split.
      maxPayload: 2 * DEFAULT_PARSER_LIMITS.maxFrameBytes,
      handleProtocols: (protocols: Set<string>) => selectSubprotocol(protocols) ?? false,
    },
    // Shutdown order: stop being ready, let in-flight SENDs get their RECEIPTs, then close every
    // socket with 1001 so STOMP.js clients reconnect to another instance.
    preClose: async function preClose(this: FastifyInstance) {
      options.onShutdownStarted();
      await realtime.closeAll(1001, 'server shutting down');
      realtime.stop();
      // ws waits up to 30 s for a peer to answer the close frame, which alone would eat the whole
      // SHUTDOWN_TIMEOUT_MS and leave consumers no time to leave their groups: a peer that has not
      // answered within the grace period is cut off.
      const clients = this.websocketServer.clients;
      const deadline = Date.now() + WEBSOCKET_CLOSE_GRACE_MS;
      while (clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const socket of clients) socket.terminate();
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  });
  // Everything else offering an upgrade (Java's HttpClient offers h2c on a POST) is a normal request.
  serveUpgradeOffersAsRequests(app.server, (request) => isWebSocketHandshake(request, STOMP_ENDPOINT));
  await app.register(async (scope) => realtime.registerRoute(scope));
}
