import { createConnection } from 'node:net';

/**
 * `npm test` brings the stack up before vitest starts (scripts/stack.mjs). This only checks that
 * the services answer, so a test run with a dead dependency fails at once with a clear message
 * instead of timing out test by test.
 */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export default async function setup(): Promise<void> {
  const targets = {
    postgres: new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/chat'),
    redis: new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
    kafka: new URL(`kafka://${(process.env.KAFKA_BROKERS ?? '127.0.0.1:29092').split(',')[0]}`),
  };
  const down: string[] = [];
  for (const [name, url] of Object.entries(targets)) {
    if (!(await reachable(url.hostname, Number(url.port)))) down.push(`${name} (${url.host})`);
  }
  if (down.length) {
    throw new Error(`Test services not reachable: ${down.join(', ')}. Run \`npm run stack:up\` (npm test does it for you).`);
  }
}
