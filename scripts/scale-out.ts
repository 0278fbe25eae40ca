// `npm run scale-out`: the Compose topology without Docker. Two app processes on this machine
// (same database, topics and consumer groups) behind a real nginx with the config shape of
// deploy/nginx/nginx.conf. Ctrl-C stops all three gracefully; `kill -TERM <pid>` of one app shows
// its clients and Kafka partitions moving to the other.
//
// Also a module: tests/integration/scale-out.test.ts starts nginx with the same functions.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findNginx } from './lib/binaries.mjs';
import { portOpen } from './lib/ports.mjs';
import { describeExit, fileTail, run, startChild, waitUntilReady, type ManagedChild } from './lib/processes.mjs';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = join(projectRoot, 'deploy', 'nginx');
const NGINX_MISSING = 'nginx is not installed (Debian: apt-get install -y nginx-light)';

/** deploy/nginx/nginx.local.conf with its placeholders filled in. */
export function renderLocalNginxConfig(options: { listen: string; upstreams: [string, string]; prefixDir: string }): string {
  const template = readFileSync(join(deployDir, 'nginx.local.conf'), 'utf8');
  return template
    .replaceAll('@PREFIX@', options.prefixDir)
    .replaceAll('@DEPLOY_DIR@', deployDir)
    .replaceAll('@LISTEN@', options.listen)
    .replaceAll('@APP_1@', options.upstreams[0])
    .replaceAll('@APP_2@', options.upstreams[1]);
}

export interface RunningNginx {
  process: ChildProcess;
  port: number;
  configPath: string;
  /** Graceful stop (SIGQUIT lets open connections finish); resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts nginx in the foreground with the local config; resolves once it accepts connections. */
export async function startNginx(options: {
  port: number;
  upstreams: [string, string];
  prefixDir: string;
  quiet?: boolean;
}): Promise<RunningNginx> {
  const nginx = findNginx();
  if (!nginx) throw new Error(NGINX_MISSING);
  mkdirSync(options.prefixDir, { recursive: true });
  const configPath = join(options.prefixDir, 'nginx.conf');
  const errorLog = join(options.prefixDir, 'error.log');
  const upstreams = options.upstreams;
  writeFileSync(configPath, renderLocalNginxConfig({ listen: `127.0.0.1:${options.port}`, upstreams, prefixDir: options.prefixDir }));
  const nginxArgs = ['-p', options.prefixDir, '-c', configPath, '-e', errorLog];

  const check = run(nginx, ['-t', '-q', ...nginxArgs]);
  if (!check.ok) throw new Error(`nginx rejected ${configPath}:\n${check.stderr}`);

  const child = startChild(nginx, nginxArgs, { name: 'nginx', output: options.quiet ? 'ignore' : 'inherit' });
  try {
    await waitUntilReady(`nginx on port ${options.port}`, () => portOpen(options.port), { timeoutMs: 10_000, child, intervalMs: 50 });
  } catch (error) {
    await child.stop({ signal: 'SIGKILL' });
    throw new Error(`${(error as Error).message}\n${fileTail(errorLog)}`, { cause: error });
  }
  return {
    process: child.child,
    port: options.port,
    configPath,
    async stop() {
      await child.stop({ signal: 'SIGQUIT', timeoutMs: 5_000 });
    },
  };
}

function startApp(name: string, port: number, env: NodeJS.ProcessEnv): ManagedChild {
  return startChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    name,
    cwd: projectRoot,
    // nginx reaches the apps from 127.0.0.1, the only proxy whose X-Forwarded-For they believe.
    env: { TRUST_PROXY: '127.0.0.1', ...env, PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: name },
    output: { onLine: (line) => process.stdout.write(`[${name}] ${line}\n`) },
  });
}

async function main(): Promise<void> {
  const nginxPort = Number(process.env.NGINX_PORT ?? 18080);
  const ports: [number, number] = [Number(process.env.APP_1_PORT ?? 18081), Number(process.env.APP_2_PORT ?? 18082)];
  for (const port of [nginxPort, ...ports]) {
    if (await portOpen(port)) throw new Error(`port ${port} is already in use (set NGINX_PORT, APP_1_PORT, APP_2_PORT)`);
  }
  if (!findNginx()) throw new Error(NGINX_MISSING);

  const stack = run(process.execPath, [join(projectRoot, 'scripts', 'stack.mjs'), 'up'], { stdio: 'inherit' });
  if (!stack.ok) process.exit(stack.status ?? 1);

  const env = { ...process.env };
  if (!env.JWT_SECRET) {
    // Both instances must verify each other's tokens, so they share one secret.
    env.JWT_SECRET = randomBytes(32).toString('base64url');
    console.log('scale-out: JWT_SECRET is not set; both instances share a throwaway secret (tokens die with them).');
  }

  // One instance first, so migrations and topic creation do not race; the second joins after.
  const apps: { name: string; port: number; child: ManagedChild }[] = [];
  let nginx: RunningNginx;
  try {
    for (const [index, port] of ports.entries()) {
      const name = `app-${index + 1}`;
      const child = startApp(name, port, env);
      apps.push({ name, port, child });
      await waitUntilReady(`${name} on port ${port}`, () => portOpen(port), { timeoutMs: 60_000, child });
    }
    nginx = await startNginx({
      port: nginxPort,
      upstreams: [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`],
      prefixDir: join(projectRoot, '.stack', 'scale-out-nginx'),
    });
  } catch (error) {
    for (const app of apps) app.child.signal('SIGTERM');
    throw error;
  }

  console.log(`
scale-out: ready
  nginx  http://127.0.0.1:${nginxPort}   (STOMP: ws://127.0.0.1:${nginxPort}/ws)   pid ${nginx.process.pid}
${apps.map((app) => `  ${app.name}  http://127.0.0.1:${app.port}   pid ${app.child.pid}`).join('\n')}
  Which partitions each instance owns: GET /actuator/info with a bearer token, on each app port.
  Try a graceful failover: kill -TERM ${apps[0]!.child.pid}
  Ctrl-C stops everything.`);

  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    console.log('scale-out: stopping');
    // The apps' own graceful shutdown is bounded by SHUTDOWN_TIMEOUT_MS (30 s by default).
    await Promise.all(apps.map((app) => app.child.stop({ timeoutMs: 40_000 })));
    await nginx.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());
  for (const app of apps) {
    void app.child.exited.then((status) => {
      if (!stopping) console.log(`scale-out: ${app.name} exited (${describeExit(status)}); nginx sends everything to the other instance`);
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`scale-out: ${(error as Error).message}`);
    process.exit(1);
  });
}
