import { createServer, type Socket } from 'node:net';

/** A program of another kind on a loopback port: it greets every connection with `greeting` and hangs up. */
export async function startForeignServer(greeting: string): Promise<{ port: number; close(): Promise<void> }> {
  const accepted = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.add(socket);
    socket.on('error', () => {});
    socket.end(greeting);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
