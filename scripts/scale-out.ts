// `npm run scale-out`: the Compose topology without Docker. Two app processes on this machine
// (same database, topics and consumer groups) behind a real nginx with the config shape of
// deploy/nginx/nginx.conf. Ctrl-C stops all three gracefully; `kill -TERM <pid>` of one app shows
// its clients and Kafka partitions moving to the other.
//
// Also a module: tests/integration/scale-out.test.ts starts nginx with the same functions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = join(projectRoot, 'deploy', 'nginx');

/** Debian installs nginx in /usr/sbin, which is not on every PATH. */
export function findNginx(): string | undefined {
  for (const candidate of [process.env.NGINX_BIN, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

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

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

export interface RunningNginx {
  process: ChildProcess;
  port: number;
  configPath: string;
  /** Graceful stop (SIGQUIT lets open connections finish); resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts nginx in the foreground with the local config; resolves once it accepts connections. */
export async function startNginx(options: { port: number; upstreams: [string, string]; prefixDir: string; quiet?: boolean }): Promise<RunningNginx> {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (Debian: apt-get install -y nginx-light)');
  mkdirSync(options.prefixDir, { recursive: true });
  const configPath = join(options.prefixDir, 'nginx.conf');
  writeFileSync(configPath, renderLocalNginxConfig({ listen: `127.0.0.1:${options.port}`, upstreams: options.upstreams, prefixDir: options.prefixDir }));

  const check = spawnSync(nginx, ['-t', '-q', '-p', options.prefixDir, '-c', configPath, '-e', join(options.prefixDir, 'error.log')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx rejected ${configPath}:\n${check.stderr}`);

  const child = spawn(nginx, ['-p', options.prefixDir, '-c', configPath, '-e', join(options.prefixDir, 'error.log')], {
    stdio: options.quiet ? 'ignore' : 'inherit',
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(options.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = existsSync(join(options.prefixDir, 'error.log')) ? readFileSync(join(options.prefixDir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx did not start on port ${options.port}\n${log}`);
    }
    await new Promise((wait) => setTimeout(wait, 50));
  }
  return {
    process: child,
    port: options.port,
    configPath,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function startApp(name: string, port: number, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    // nginx reaches the apps from 127.0.0.1, the only proxy whose X-Forwarded-For they believe.
    env: { TRUST_PROXY: '127.0.0.1', ...env, PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    let pending = '';
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  return child;
}

async function main(): Promise<void> {
  const nginxPort = Number(process.env.NGINX_PORT ?? 18080);
  const ports: [number, number] = [Number(process.env.APP_1_PORT ?? 18081), Number(process.env.APP_2_PORT ?? 18082)];
  for (const port of [nginxPort, ...ports]) {
    if (await portOpen(port)) throw new Error(`port ${port} is already in use (set NGINX_PORT, APP_1_PORT, APP_2_PORT)`);
  }
  if (!findNginx()) throw new Error('nginx is not installed (Debian: apt-get install -y nginx-light)');

  const stack = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'stack.mjs'), 'up'], { stdio: 'inherit' });
  if (stack.status !== 0) process.exit(stack.status ?? 1);

  const env = { ...process.env };
  if (!env.JWT_SECRET) {
    // Both instances must verify each other's tokens, so they share one secret.
    env.JWT_SECRET = randomBytes(32).toString('base64url');
    console.log('scale-out: JWT_SECRET is not set; both instances share a throwaway secret (tokens die with them).');
  }

  // One instance first, so migrations and topic creation do not race; the second joins after.
  const apps: { name: string; port: number; child: ChildProcess }[] = [];
  const waitListening = async (port: number, child: ChildProcess, name: string) => {
    const deadline = Date.now() + 60_000;
    while (!(await portOpen(port))) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start-up`);
      if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within 60 s`);
      await new Promise((wait) => setTimeout(wait, 200));
    }
  };
  let nginx: RunningNginx;
  try {
    for (const [index, port] of ports.entries()) {
      const name = `app-${index + 1}`;
      const child = startApp(name, port, env);
      apps.push({ name, port, child });
      await waitListening(port, child, name);
    }
    nginx = await startNginx({
      port: nginxPort,
      upstreams: [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`],
      prefixDir: join(projectRoot, '.stack', 'scale-out-nginx'),
    });
  } catch (error) {
    for (const app of apps) app.child.kill('SIGTERM');
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
    await Promise.all(
      apps.map(
        (app) =>
          new Promise<void>((done) => {
            if (app.child.exitCode !== null || app.child.signalCode !== null) return done();
            app.child.once('exit', () => done());
            app.child.kill('SIGTERM');
          }),
      ),
    );
    await nginx.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());
  for (const app of apps) {
    app.child.once('exit', (code, signal) => {
      if (!stopping) console.log(`scale-out: ${app.name} exited (${signal ?? code}); nginx sends everything to the other instance`);
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`scale-out: ${(error as Error).message}`);
    process.exit(1);
  });
}
