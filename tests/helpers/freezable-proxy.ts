import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real service (the shared Redis) that a test can freeze: while frozen
 * it forwards nothing either way, so the service looks alive but never answers, as a stalled or
 * partitioned server does. Thawing delivers what was held, in order. Only this test's
 * connections go through it; the service itself is never touched.
 */
export interface FreezableProxy {
  url: (scheme: string) => string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(upstream: { host: string; port: number }): Promise<FreezableProxy> {
  let frozen = false;
  const pipes: { flush(): void; destroy(): void }[] = [];

  const server: Server = createServer((client: Socket) => {
    const service = connect(upstream);
    const held: { to: Socket; data: Buffer }[] = [];
    const forward = (to: Socket) => (data: Buffer) => {
      if (frozen) held.push({ to, data });
      else to.write(data);
    };
    client.on('data', forward(service));
    service.on('data', forward(client));
    const destroy = () => {
      client.destroy();
      service.destroy();
    };
    client.on('error', destroy);
    service.on('error', destroy);
    client.on('close', destroy);
    service.on('close', destroy);
    pipes.push({
      flush: () => {
        for (const { to, data } of held.splice(0)) to.write(data);
      },
      destroy,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const pipe of pipes) pipe.flush();
    },
    close: async () => {
      for (const pipe of pipes) pipe.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
