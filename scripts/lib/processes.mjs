/**
 * Child processes: run a command to completion, or start a long-running one, wait until it is
 * ready, and stop it within a bound.
 *
 * A child started here is killed (with its `exitSignal`) when this process exits, so a failed
 * test or an interrupted script never leaves a broker, a postmaster or an app holding its port;
 * only a `daemon` outlives us. Children other than daemons stay in our process group on purpose:
 * a Ctrl-C in the terminal reaches them directly, even when the test worker that started them is
 * killed without running exit hooks.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ScriptError } from './errors.mjs';
import { waitForProbe } from './wait.mjs';

/** Runs `cmd` to completion (synchronously); never throws for a failed or missing command. */
export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error) return { ok: false, status: null, stdout: '', stderr: String(r.error.message) };
  return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs `command` to completion with its output collected; SIGKILL after `timeoutMs`. */
export function runCommand(command, args, { timeoutMs, cwd, env = process.env }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk.toString()));
    child.stderr.on('data', (chunk) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, output: error.message });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Live children and the signal each gets if we exit first. */
const killOnExit = new Map();
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [child, signal] of killOnExit) child.kill(signal);
  });
}

const TAIL_LINES_KEPT = 200;

/** The last `lines` lines of a log file (read from its last 64 KiB). */
export function fileTail(file, lines = 30) {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 64 * 1024));
      fs.readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return `(no ${file})`;
  }
}

export function describeExit(status) {
  return status.signal ?? `exit code ${status.code}`;
}

/**
 * Starts `command`. `output`: 'ignore' (default), 'inherit', `{ file, append? }` (the child
 * writes to the file itself, so nothing is lost if we die first) or `{ onLine(line, stream) }`.
 * `daemon`: its own session, not waited for and not killed when we exit.
 */
export function startChild(command, args, options = {}) {
  const { name = path.basename(command), cwd, env, uid, gid, output = 'ignore', daemon = false, exitSignal = 'SIGKILL' } = options;
  let fd;
  let stdio = output === 'inherit' ? 'inherit' : 'ignore';
  if (typeof output === 'object' && 'file' in output) {
    fd = fs.openSync(output.file, output.append ? 'a' : 'w');
    stdio = ['ignore', fd, fd];
  } else if (typeof output === 'object') {
    stdio = ['ignore', 'pipe', 'pipe'];
  }
  const child = spawn(command, args, { cwd, env, stdio, detached: daemon, ...(uid !== undefined ? { uid, gid } : {}) });
  if (fd !== undefined) fs.closeSync(fd);
  child.once('error', () => {}); // a spawn failure shows as a missing pid, below
  if (!child.pid) throw new ScriptError(`${name}: could not start ${command} (missing, or not executable)`);

  const recent = [];
  if (typeof output === 'object' && 'onLine' in output) {
    for (const stream of ['stdout', 'stderr']) {
      createInterface({ input: child[stream] }).on('line', (line) => {
        recent.push(line);
        if (recent.length > TAIL_LINES_KEPT) recent.shift();
        output.onLine(line, stream);
      });
    }
  }

  let status;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      killOnExit.delete(child);
      status = { code, signal };
      resolve(status);
    });
  });
  if (daemon) child.unref();
  else if (exitSignal) {
    installExitHook();
    killOnExit.set(child, exitSignal);
  }

  const waitForExit = async (timeoutMs, why = '') => {
    let timer;
    try {
      return await Promise.race([
        exited,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ScriptError(`${name} did not exit within ${timeoutMs} ms${why}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    name,
    child,
    pid: child.pid,
    exited,
    get running() {
      return status === undefined;
    },
    exitStatus: () => status,
    /** The last lines it wrote (its log file's, or the lines seen by `onLine`). */
    tail(lines = 30) {
      if (typeof output === 'object' && 'file' in output) return fileTail(output.file, lines);
      return recent.slice(-lines).join('\n');
    },
    /** Sends `signal` if it still runs; true when sent. */
    signal(signal) {
      return status === undefined && child.kill(signal);
    },
    waitForExit,
    /** `signal` (SIGTERM), up to `timeoutMs` for it to exit, then SIGKILL. */
    async stop({ signal = 'SIGTERM', timeoutMs = 30_000 } = {}) {
      if (status) return status;
      child.kill(signal);
      try {
        return await waitForExit(timeoutMs);
      } catch {
        child.kill('SIGKILL');
        return waitForExit(10_000, ' of SIGKILL');
      }
    },
  };
}

/**
 * Polls `ready` (every `intervalMs`) until it resolves true. Fails at once when `child` exits
 * meanwhile, and after `timeoutMs` otherwise; either error carries the child's last lines.
 */
export async function waitUntilReady(what, ready, { timeoutMs, child, intervalMs = 200 }) {
  const lastLines = () => (child ? `\n--- last lines of ${child.name} ---\n${child.tail()}` : '');
  const r = await waitForProbe(async () => ({ state: (await ready().catch(() => false)) ? 'ok' : 'down' }), {
    timeoutMs,
    intervalMs,
    onTick: () => {
      const status = child?.exitStatus();
      if (status) throw new ScriptError(`${what} exited (${describeExit(status)}) before it was ready${lastLines()}`);
    },
  });
  if (r.state !== 'ok') throw new ScriptError(`${what} not ready after ${timeoutMs} ms${lastLines()}`);
}
