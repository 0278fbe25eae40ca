import { fileURLToPath } from 'node:url';
import { startChild, type ExitStatus } from '../../scripts/lib/processes.mjs';
import { waitFor } from './wait.js';

/**
 * The app as a real child process (`node --import tsx src/main.ts`), for what an in-process app
 * cannot show: a SIGKILL mid-stream, a SIGTERM and the exit code that follows, a restart on the
 * same database, topics and groups.
 *
 * The process gets only the environment given (plus PATH/HOME and the like), so a test's
 * isolation is exactly what it passed, usually `testEnv().env`. Its stdout and stderr are kept
 * line by line (pino JSON parsed) for `waitForLog` and for the failure message when start-up
 * goes wrong; set TEST_LOG_LEVEL (or `echo`) to see them live. Children still running when the
 * test worker exits are killed, so a failed test never leaves an app holding a consumer group.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** What is inherited from the test runner; everything else comes from the caller. */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'UV_THREADPOOL_SIZE'];

export interface LogLine {
  /** The raw line. */
  text: string;
  /** pino's numeric level (30 info, 40 warn, 50 error), when the line is JSON. */
  level?: number;
  msg?: string;
  /** The parsed line, when it is JSON. */
  json?: Record<string, unknown>;
  stream: 'stdout' | 'stderr';
}

export type { ExitStatus };

export interface AppProcessOptions {
  env: Record<string, string>;
  /** A label for echoed lines and error messages. */
  name?: string;
  /** How long start-up may take until 'Server listening'; default 45 s (tsx compiles on the fly). */
  startTimeoutMs?: number;
  /** Print the child's lines to stderr as they come; default: when TEST_LOG_LEVEL is set. */
  echo?: boolean;
  /** Options for node itself, before the entry point (e.g. `--inspect=127.0.0.1:9230`). */
  nodeArgs?: string[];
}

export interface AppProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly baseUrl: string;
  readonly logs: LogLine[];
  /** Settles when the process has exited, whatever the cause. */
  readonly exited: Promise<ExitStatus>;
  /** Undefined while it runs. */
  exitStatus(): ExitStatus | undefined;
  /** Resolves with the first line (already logged or still to come) that matches. */
  waitForLog(match: string | RegExp | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine>;
  /** Sends `signal` (default SIGKILL) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

/** Fastify's start-up line, one per address it listens on. */
const LISTENING = /^Server listening at https?:\/\/.+:(\d+)$/;

/** Levels that would hide that line; the child then logs at info instead. */
const QUIETER_THAN_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

function parseLine(text: string, stream: 'stdout' | 'stderr'): LogLine {
  const line: LogLine = { text, stream };
  if (!text.startsWith('{')) return line;
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    line.json = json;
    if (typeof json.level === 'number') line.level = json.level;
    if (typeof json.msg === 'string') line.msg = json.msg;
  } catch {
    // Not every line is JSON (a crash prints a plain stack); keep it as text.
  }
  return line;
}

export async function startAppProcess(options: AppProcessOptions): Promise<AppProcess> {
  const name = options.name ?? 'app';
  const echo = options.echo ?? Boolean(process.env.TEST_LOG_LEVEL);
  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, options.env);
  // Unset, the app logs at info anyway; leaving it unset lets a test run with exactly the environment it names.
  if (env.LOG_LEVEL && QUIETER_THAN_INFO.has(env.LOG_LEVEL)) env.LOG_LEVEL = 'info';

  const logs: LogLine[] = [];
  const child = startChild(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    name,
    cwd: repoRoot,
    env,
    output: {
      onLine: (text, stream) => {
        logs.push(parseLine(text, stream));
        if (echo) process.stderr.write(`[${name}] ${text}\n`);
      },
    },
  });

  let signalled = false;
  void child.exited.then((status) => {
    // An exit nobody asked for is the thing a fault test must explain; its last lines are the
    // only evidence, so they go to stderr even when nothing was echoed.
    if (!signalled && !echo) process.stderr.write(`[${name}] exited unexpectedly (${JSON.stringify(status)}); last lines:\n${tail(60)}\n`);
  });

  const matcher = (match: string | RegExp | ((line: LogLine) => boolean)) =>
    typeof match === 'function'
      ? match
      : typeof match === 'string'
        ? (line: LogLine) => line.text.includes(match)
        : (line: LogLine) => match.test(line.text);

  function tail(lines = 20): string {
    return logs
      .slice(-lines)
      .map((line) => line.text)
      .join('\n');
  }

  async function waitForLog(match: string | RegExp | ((line: LogLine) => boolean), timeoutMs = 30_000): Promise<LogLine> {
    const test = matcher(match);
    return waitFor(
      () => {
        const found = logs.find(test);
        const status = child.exitStatus();
        if (!found && status) throw new Error(`${name} exited (${JSON.stringify(status)}) before logging ${String(match)}`);
        return found;
      },
      { timeoutMs, what: `${name} log ${String(match)}` },
    );
  }

  async function kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<ExitStatus> {
    const status = child.exitStatus();
    if (status) return status;
    signalled = true;
    child.signal(signal);
    return child.waitForExit(timeoutMs, ` of ${signal}`);
  }

  let port: number;
  try {
    // Whatever HOST is, the port is the same on loopback.
    const listening = await waitForLog((line) => LISTENING.test(line.msg ?? ''), options.startTimeoutMs ?? 45_000);
    port = Number(LISTENING.exec(listening.msg!)![1]);
  } catch (error) {
    await kill('SIGKILL').catch(() => {});
    throw new Error(`${name} did not start: ${(error as Error).message}\n--- last lines ---\n${tail()}`, { cause: error });
  }

  return {
    name,
    pid: child.pid,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    logs,
    exited: child.exited,
    exitStatus: () => child.exitStatus(),
    waitForLog,
    kill,
    async stop(timeoutMs = 30_000) {
      try {
        return await kill('SIGTERM', timeoutMs);
      } catch {
        return kill('SIGKILL');
      }
    },
  };
}
