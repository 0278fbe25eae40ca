// `npm run dev`: a working server on a fresh machine with no configuration. Brings the local
// stack up if needed, supplies a throwaway JWT secret (and says so), then runs src/main.ts,
// which migrates the database and creates the Kafka topics at start-up.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const stack = spawnSync(process.execPath, ['scripts/stack.mjs', 'up'], { stdio: 'inherit' });
if (stack.status !== 0) process.exit(stack.status ?? 1);

const env = { ...process.env };
env.NODE_ENV ??= 'development';
if (!env.JWT_SECRET) {
  env.JWT_SECRET = randomBytes(32).toString('base64url');
  console.log('dev: JWT_SECRET is not set; using a throwaway secret (tokens die with this process). Set JWT_SECRET to keep them.');
}

const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
