import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createStompParser, SERVER_COMMANDS, type StompFrame } from '../../src/stomp/index.js';
import { waitFor } from './wait.js';

/** A masked client frame (RFC 6455 §5.2), any payload length. */
function clientFrame(payload: Buffer, opcode = 0x1): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.alloc(payload.length);
  for (let index = 0; index < payload.length; index += 1) masked[index] = payload[index]! ^ mask[index % 4]!;
  let head: Buffer;
  if (payload.length < 126) head = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  else if (payload.length <= 0xffff) head = Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([head, mask, masked]);
}

/**
 * A STOMP client on a bare TCP socket, speaking WebSocket by hand, so a test can do what no
 * library client does: stop reading its socket altogether. Until `stopReading()`, server frames
 * are parsed (unmasked server frames, text or binary, no fragmentation needed here).
 */
export interface TcpStompClient {
  socket: Socket;
  frames: StompFrame[];
  send(text: string): void;
  /** Many WebSocket messages in one TCP write, so they reach the server in as few reads as it takes. */
  sendMany(texts: string[]): void;
  frame(command: string, timeoutMs?: number): Promise<StompFrame>;
  /** From now on nothing is read: the kernel buffers fill, then the server's. */
  stopReading(): void;
  destroy(): void;
}

export async function openTcpStomp(baseUrl: string): Promise<TcpStompClient> {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const frames: StompFrame[] = [];
  const parser = createStompParser({ commands: SERVER_COMMANDS, onFrame: (frame) => frames.push(frame) });
  let pending = Buffer.alloc(0);
  let upgraded = false;
  const onData = (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    if (!upgraded) {
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!pending.subarray(0, 12).toString().startsWith('HTTP/1.1 101'))
        throw new Error(`upgrade refused: ${pending.toString().split('\r\n')[0]}`);
      upgraded = true;
      pending = pending.subarray(end + 4);
    }
    // Server frames: FIN + opcode, then a 7/16/64-bit length, never masked.
    while (pending.length >= 2) {
      let length = pending[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (pending.length < 10) return;
        length = Number(pending.readBigUInt64BE(2));
        offset = 10;
      }
      if (pending.length < offset + length) return;
      const opcode = pending[0]! & 0x0f;
      const payload = pending.subarray(offset, offset + length);
      pending = pending.subarray(offset + length);
      if (opcode === 0x1 || opcode === 0x2) parser.push(payload);
      else if (opcode === 0x9) socket.write(clientFrame(Buffer.from(payload), 0xa));
    }
  };
  socket.on('data', onData);
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
  await waitFor(() => upgraded, { timeoutMs: 5_000, what: 'WebSocket upgrade' });
  return {
    socket,
    frames,
    send: (text) => socket.write(clientFrame(Buffer.from(text))),
    sendMany: (texts) => socket.write(Buffer.concat(texts.map((text) => clientFrame(Buffer.from(text))))),
    frame: (command, timeoutMs = 10_000) =>
      waitFor(() => frames.find((frame) => frame.command === command), { timeoutMs, what: `${command} frame` }),
    stopReading() {
      socket.removeListener('data', onData);
      socket.pause();
    },
    destroy: () => socket.destroy(),
  };
}
