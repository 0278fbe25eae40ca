/**
 * The raw fan-out ceiling: the least a STOMP-speaking WebSocket server can do on this machine.
 * It answers CONNECT at once (no auth), remembers which sockets SUBSCRIBEd to which destination,
 * and turns each SEND into one MESSAGE written to that destination's sockets: no broker, no
 * storage, no validation. RECEIPTs are answered immediately. GET /stats reports its memory.
 *
 * Run as its own process: PORT=15680 node --import tsx bench/ceiling-server.ts
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameSplitter, headerOf } from './load/stomp-wire.js';

const port = Number(process.env.PORT ?? 15680);
const rooms = new Map<string, Map<WebSocket, string>>();
let messageCounter = 0;

const http = createServer((request, response) => {
  if (request.url === '/stats') {
    const memory = process.memoryUsage();
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ rss: memory.rss, heapUsed: memory.heapUsed, connections: wss.clients.size }));
    return;
  }
  response.statusCode = 404;
  response.end();
});

const wss = new WebSocketServer({
  server: http,
  path: '/ws',
  perMessageDeflate: false,
  maxPayload: 64 * 1024,
  handleProtocols: (protocols) => (protocols.has('v12.stomp') ? 'v12.stomp' : false),
});

wss.on('connection', (socket) => {
  const splitter = new FrameSplitter();
  const subscriptions = new Map<string, string>();
  const receipt = (id: string | undefined) => {
    if (id) socket.send(`RECEIPT\nreceipt-id:${id}\n\n\0`);
  };
  socket.on('message', (data: Buffer) => {
    splitter.push(data, (frame) => {
      switch (frame.command) {
        case 'CONNECT':
        case 'STOMP':
          socket.send('CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:ceiling\n\n\0');
          return;
        case 'SUBSCRIBE': {
          const destination = headerOf(frame, 'destination') ?? '';
          const id = headerOf(frame, 'id') ?? '0';
          let listeners = rooms.get(destination);
          if (!listeners) rooms.set(destination, (listeners = new Map()));
          listeners.set(socket, id);
          subscriptions.set(id, destination);
          receipt(headerOf(frame, 'receipt'));
          return;
        }
        case 'SEND': {
          const destination = headerOf(frame, 'destination') ?? '';
          const listeners = rooms.get(destination);
          if (listeners) {
            const body = frame.text.slice(frame.bodyStart);
            messageCounter += 1;
            // One frame per distinct subscription id, the same bytes written to every socket.
            const frames = new Map<string, Buffer>();
            for (const [listener, subscriptionId] of listeners) {
              let bytes = frames.get(subscriptionId);
              if (!bytes) {
                bytes = Buffer.from(
                  `MESSAGE\ndestination:${destination}\nsubscription:${subscriptionId}\nmessage-id:${messageCounter}\ncontent-length:${body.length}\n\n${body}\0`,
                  'latin1',
                );
                frames.set(subscriptionId, bytes);
              }
              listener.send(bytes, { binary: false });
            }
          }
          receipt(headerOf(frame, 'receipt'));
          return;
        }
        case 'DISCONNECT':
          receipt(headerOf(frame, 'receipt'));
          socket.close(1000);
          return;
        default:
          return;
      }
    });
  });
  socket.on('close', () => {
    for (const destination of subscriptions.values()) {
      const listeners = rooms.get(destination);
      listeners?.delete(socket);
      if (listeners?.size === 0) rooms.delete(destination);
    }
  });
  socket.on('error', () => socket.terminate());
});

http.listen(port, '127.0.0.1', () => process.stdout.write(`ceiling listening on ${port}\n`));
process.on('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  http.close(() => process.exit(0));
});
