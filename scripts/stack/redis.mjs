/**
 * Redis for the stack: reused where one answers, else a redis-server of its own, daemonized,
 * without persistence (a cache and pub/sub bus), with <stack>/redis/{redis.pid,redis.log,port}.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findRedisServer } from '../lib/binaries.mjs';
import { ScriptError } from '../lib/errors.mjs';
import { isOurProcess, readPid, terminatePid } from '../lib/pids.mjs';
import { probeRedis } from '../lib/probes.mjs';
import { fileTail, run } from '../lib/processes.mjs';
import { secondsSince, waitForProbe } from '../lib/wait.mjs';
import { bindAddress } from './config.mjs';
import { assertMayStart } from './start-guard.mjs';

const START_TIMEOUT_MS = 15_000;

export function createRedisService({ stackDir, out }) {
  const dir = path.join(stackDir, 'redis');
  const pidFile = path.join(dir, 'redis.pid');
  const portFile = path.join(dir, 'port');
  const logFile = path.join(dir, 'redis.log');
  const waitUntilAnswers = (cfg) => waitForProbe(() => probeRedis(cfg), { timeoutMs: START_TIMEOUT_MS, onSlow: out.slow('redis') });

  function ours() {
    const pid = readPid(pidFile);
    return pid && isOurProcess(pid, 'redis-server') ? { pid, port: readPid(portFile) } : undefined;
  }

  async function ensure(cfg) {
    const where = `${cfg.host}:${cfg.port}`;
    let probe = await probeRedis(cfg);
    const mine = ours();
    const mineHere = mine && mine.port === cfg.port;
    if (probe.state === 'down' && mineHere) {
      out.info(`redis: stack's server (pid ${mine.pid}) is not answering yet, waiting`);
      probe = await waitUntilAnswers(cfg);
    }
    if (probe.state === 'ok') {
      const note = probe.detail === 'PONG' ? '' : ` (${probe.detail})`;
      if (mineHere) out.summary(`redis: already running (started by stack, pid ${mine.pid}) on ${where}${note}`);
      else out.summary(`redis: reusing ${where}${note}`);
      return;
    }
    assertMayStart({ service: 'redis', what: 'Redis', speaks: 'answer PING like Redis', cfg, probe, mine });
    const server = findRedisServer();

    const start = Date.now();
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(pidFile, { force: true });
    const args = ['--port', String(cfg.port), '--bind', bindAddress(cfg.host), '--dir', dir];
    // A cache and pub/sub bus for development and tests: no persistence.
    args.push('--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidFile, '--logfile', logFile);
    if (cfg.password && !cfg.username) args.push('--requirepass', cfg.password);
    out.info(`redis: starting on ${where}`);
    fs.writeFileSync(portFile, `${cfg.port}\n`);
    const r = run(server, args, { cwd: dir });
    if (!r.ok) throw new ScriptError(`redis-server failed to start:\n${r.stdout}${r.stderr}\n${fileTail(logFile, 40)}`);
    probe = await waitUntilAnswers(cfg);
    if (probe.state !== 'ok') throw new ScriptError(`started but does not answer at ${where} (${probe.detail})\n${fileTail(logFile, 40)}`);
    out.summary(`redis: started ${where} (pid ${readPid(pidFile)}) in ${secondsSince(start)}s`);
  }

  async function stop() {
    const mine = ours();
    if (!mine) return undefined;
    // Redis shuts down cleanly on SIGTERM; with no save points configured it writes nothing.
    const how = await terminatePid(mine.pid, {
      timeoutMs: 10_000,
      onEscalate: () => out.info('redis: still running after 10s, sending SIGKILL'),
    });
    fs.rmSync(pidFile, { force: true });
    fs.rmSync(portFile, { force: true });
    return `${how} (pid ${mine.pid})`;
  }

  return { name: 'redis', logFile, probe: probeRedis, ours, ensure, stop };
}
