/**
 * PostgreSQL for the stack: reused where one answers, else a cluster of its own in
 * <stack>/postgres/{data,run,postgres.log}, started and stopped with pg_ctl (as the postgres OS
 * user when we are root). "Ours" means: the postmaster.pid in that data folder names a live
 * postgres.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findPgBin } from '../lib/binaries.mjs';
import { ScriptError } from '../lib/errors.mjs';
import { isOurProcess, readPid, terminatePid } from '../lib/pids.mjs';
import { chownTree, initPostgresData, postgresOsUser } from '../lib/postgres-server.mjs';
import { probePostgres } from '../lib/probes.mjs';
import { fileTail, run } from '../lib/processes.mjs';
import { secondsSince, waitForProbe } from '../lib/wait.mjs';
import { bindAddress } from './config.mjs';
import { shown } from './output.mjs';
import { assertMayStart } from './start-guard.mjs';

const START_TIMEOUT_S = 60;

export function createPostgresService({ stackDir, out }) {
  const dir = path.join(stackDir, 'postgres');
  const data = path.join(dir, 'data');
  const runDir = path.join(dir, 'run');
  const logFile = path.join(dir, 'postgres.log');
  const waitUntilAnswers = (cfg) =>
    waitForProbe(() => probePostgres(cfg), { timeoutMs: START_TIMEOUT_S * 1000, onSlow: out.slow('postgres') });

  /** The postmaster that owns our data folder, and the port it listens on. */
  function ours() {
    const pidFile = path.join(data, 'postmaster.pid');
    const pid = readPid(pidFile, 0);
    return pid && isOurProcess(pid, 'postgres') ? { pid, port: readPid(pidFile, 3) } : undefined;
  }

  /** Creates the configured database when the server said it does not exist (3D000). */
  function ensureDatabase(cfg, probe) {
    if (probe.sqlstate !== '3D000') return '';
    const createdb = findPgBin('createdb');
    if (!createdb) {
      out.info(`postgres: database "${cfg.database}" does not exist and no createdb binary to create it`);
      return `, database "${cfg.database}" MISSING`;
    }
    const env = { ...process.env, PGCONNECT_TIMEOUT: '5', ...(cfg.password ? { PGPASSWORD: cfg.password } : {}) };
    const r = run(createdb, ['-h', cfg.host, '-p', String(cfg.port), '-U', cfg.user, '--', cfg.database], { env });
    if (!r.ok && !/already exists/.test(r.stderr)) throw new ScriptError(`could not create database "${cfg.database}": ${r.stderr.trim()}`);
    return `, created database "${cfg.database}"`;
  }

  async function ensure(cfg) {
    const where = `${cfg.host}:${cfg.port}`;
    let probe = await probePostgres(cfg);
    const mine = ours();
    if (probe.state === 'down' && mine && mine.port === cfg.port) {
      // Ours, but not answering yet (a concurrent start, crash recovery): wait for it.
      out.info(`postgres: stack's server (pid ${mine.pid}) is not answering yet, waiting`);
      probe = await waitUntilAnswers(cfg);
    }
    if (probe.state === 'ok') {
      const extra = ensureDatabase(cfg, probe);
      if (mine && mine.port === cfg.port) out.summary(`postgres: already running (started by stack, pid ${mine.pid}) on ${where}${extra}`);
      else out.summary(`postgres: reusing ${where}${extra}`);
      return;
    }
    assertMayStart({ service: 'postgres', what: 'PostgreSQL', speaks: 'speak the PostgreSQL protocol', cfg, probe, mine });
    const pgCtl = findPgBin('pg_ctl');
    if (!pgCtl)
      throw new ScriptError(`nothing answers at ${where}, and no pg_ctl in /usr/lib/postgresql/*/bin or PATH (install PostgreSQL)`);

    const start = Date.now();
    const owner = postgresOsUser();
    fs.mkdirSync(runDir, { recursive: true });
    chownTree(dir, owner);
    if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
      out.info(`postgres: initdb ${shown(data)}`);
      fs.rmSync(data, { recursive: true, force: true });
      initPostgresData({ dataDir: data, user: cfg.user, owner });
    }
    out.info(`postgres: starting on ${where}`);
    // Host, port and socket folder on the command line (not in postgresql.conf), so a changed
    // DATABASE_URL port just works with the same data folder.
    const options = `-p ${cfg.port} -c listen_addresses=${bindAddress(cfg.host)} -c unix_socket_directories=${runDir}`;
    const args = ['start', '-D', data, '-l', logFile, '-w', '-t', String(START_TIMEOUT_S), '-o', options];
    const r = run(pgCtl, args, { ...owner, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!r.ok) throw new ScriptError(`pg_ctl start failed:\n${r.stdout}${r.stderr}\n--- ${shown(logFile)} ---\n${fileTail(logFile, 40)}`);
    probe = await waitUntilAnswers(cfg);
    if (probe.state !== 'ok') throw new ScriptError(`started but does not answer at ${where} (${probe.detail})\n${fileTail(logFile, 40)}`);
    const extra = ensureDatabase(cfg, probe);
    out.summary(`postgres: started ${where} (pid ${ours()?.pid}, data ${shown(data)}) in ${secondsSince(start)}s${extra}`);
  }

  async function stop() {
    const mine = ours();
    if (!mine) return undefined;
    const pgCtl = findPgBin('pg_ctl');
    if (pgCtl) {
      const start = Date.now();
      const r = run(pgCtl, ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30'], { ...postgresOsUser(), cwd: dir });
      if (r.ok) return `stopped (pid ${mine.pid}) in ${secondsSince(start)}s`;
      out.info(`postgres: pg_ctl stop failed (${(r.stderr || r.stdout).trim()}), signalling`);
    }
    // SIGINT is PostgreSQL's fast shutdown.
    return `${await terminatePid(mine.pid, { signal: 'SIGINT', timeoutMs: 30_000 })} (pid ${mine.pid})`;
  }

  return { name: 'postgres', logFile, probe: probePostgres, ours, ensure, stop };
}
