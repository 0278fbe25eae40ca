import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Only a WebSocket handshake on the STOMP endpoint is an upgrade; any other request that offers
 * one is served as the ordinary HTTP/1.1 request it also is.
 *
 * Node hands every request carrying `Connection: upgrade` to the server's 'upgrade' listeners,
 * with its body unread, as soon as one listener exists, and @fastify/websocket installs one. So
 * Java's `java.net.http.HttpClient`, which offers HTTP/2 (`Upgrade: h2c`) with its first
 * plain-HTTP request, POST included, never had its body read (400 "Request body size did not
 * match Content-Length"). A server may ignore an upgrade offer and answer over HTTP/1.1 (RFC 9110
 * §7.8); Tomcat does, so the Spring version answered those requests normally.
 *
 * Such a request goes back to Node's HTTP parser: its head is rebuilt without the offer
 * (`Upgrade`, `HTTP2-Settings` and their `Connection` tokens), put back in front of the bytes not
 * read yet, and the socket is announced to the server again as a fresh connection, so the
 * request, and whatever follows it on the keep-alive connection, is parsed and routed as usual.
 */
export function serveUpgradeOffersAsRequests(server: Server, isHandshake: (request: IncomingMessage) => boolean): void {
  const upgradeListeners = server.listeners('upgrade') as ((request: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isHandshake(request)) {
      for (const listener of upgradeListeners) listener.call(server, request, socket, head);
      return;
    }
    // Node has stopped the socket's flow before this event (readableFlowing = null), so nothing
    // is lost before the new parser attaches its 'data' listener and the bytes flow again.
    socket.unshift(Buffer.concat([headWithoutUpgradeOffer(request), head]));
    server.emit('connection', socket);
  });
}

/** A WebSocket handshake (`GET`, `Upgrade: websocket`) on `path`. */
export function isWebSocketHandshake(request: IncomingMessage, path: string): boolean {
  const offered = (request.headers.upgrade ?? '').split(',').map((token) => token.trim().toLowerCase());
  return request.method === 'GET' && offered.includes('websocket') && (request.url ?? '').split('?')[0] === path;
}

const OFFER_HEADERS = new Set(['upgrade', 'http2-settings']);

function headWithoutUpgradeOffer(request: IncomingMessage): Buffer {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const raw = request.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    const value = raw[index + 1]!;
    const lower = name.toLowerCase();
    if (OFFER_HEADERS.has(lower)) continue;
    if (lower === 'connection') {
      const kept = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token && !OFFER_HEADERS.has(token.toLowerCase()));
      if (kept.length > 0) lines.push(`${name}: ${kept.join(', ')}`);
      continue;
    }
    lines.push(`${name}: ${value}`);
  }
  // Node decoded the head as latin1; encoding it the same way gives back the bytes that came in.
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}
