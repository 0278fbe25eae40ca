import type { Socket } from 'node:net';
import { openTcpStomp } from './raw-stomp-socket.js';

/**
 * A STOMP client whose network has gone quiet: it connects, gets CONNECTED (heart-beats off, so
 * the server has no reason to drop it), then never reads or answers again, not even the close
 * frame of a shutdown. A real server meets these (a phone that lost its signal); the test uses
 * one to prove that shutdown does not wait on them without bound.
 */
export async function connectSilentPeer(baseUrl: string, token: string): Promise<{ socket: Socket; closed: () => boolean }> {
  const client = await openTcpStomp(baseUrl);
  let closed = false;
  client.socket.on('close', () => {
    closed = true;
  });
  client.send(`CONNECT\naccept-version:1.2\nheart-beat:0,0\nAuthorization:Bearer ${token}\n\n\u0000`);
  await client.frame('CONNECTED', 5_000);
  // From here on nothing is read, so nothing is answered.
  client.stopReading();
  return { socket: client.socket, closed: () => closed };
}
