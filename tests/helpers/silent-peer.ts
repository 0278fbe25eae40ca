import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { waitFor } from './wait.js';

/** A masked client text frame (RFC 6455 §5.3: every client frame is masked). */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 0xffff) throw new Error('frame too long for this helper');
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  // FIN + text opcode, then the masked length: 7 bits, or 126 and a 16-bit length.
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, masked]);
}

/**
 * A STOMP client whose network has gone quiet: it connects, gets CONNECTED (heart-beats off, so
 * the server has no reason to drop it), then never reads or answers again, not even the close
 * frame of a shutdown. A real server meets these (a phone that lost its signal); the test uses
 * one to prove that shutdown does not wait on them without bound.
 */
export async function connectSilentPeer(baseUrl: string, token: string): Promise<{ socket: Socket; closed: () => boolean }> {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  let received = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    [
      'GET /ws HTTP/1.1',
      `Host: ${url.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Protocol: v12.stomp',
      '',
      '',
    ].join('\r\n'),
  );
  await waitFor(() => received.includes('\r\n\r\n'), { what: 'WebSocket upgrade response', timeoutMs: 5_000 });
  if (!received.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${received.split('\r\n')[0]}`);
  socket.write(clientTextFrame(`CONNECT\naccept-version:1.2\nheart-beat:0,0\nAuthorization:Bearer ${token}\n\n\u0000`));
  await waitFor(() => received.includes('CONNECTED'), { what: 'CONNECTED for the silent peer', timeoutMs: 5_000 });
  // From here on nothing is read, so nothing is answered.
  socket.removeAllListeners('data');
  socket.pause();
  return { socket, closed: () => closed };
}
