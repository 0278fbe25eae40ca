import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { uniqueSuffix } from './services.js';
import { waitFor } from './wait.js';

/**
 * A command (`npm run dev`, `npm start`) run the way a user or a supervisor runs it: as the leader
 * of a process group of its own, so a test can signal the whole group at once as a terminal's
 * Ctrl-C, systemd or `kill -- -PGID` does, and then check that every process it started is gone.
 * Linux only: the process tree is read from /proc.
 */

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface GroupLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** pino's message, when the line is a JSON log line. */
  msg?: string;
}

export interface ProcessGroup {
  /** The leader's pid, which is also the group id. */
  readonly pgid: number;
  readonly lines: GroupLine[];
  /** Settles once the leader has exited and its output is read. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The leader and every process below it, now. */
  tree(): number[];
  signal(signal: NodeJS.Signals): void;
  waitForLine(match: RegExp, timeoutMs?: number): Promise<GroupLine>;
  /** Lines whose pino message is exactly `msg`. */
  messages(msg: string): GroupLine[];
  /** Writes to the leader's stdin (started with `stdin: true`), e.g. a Ctrl-C byte into `script`'s terminal. */
  write(data: string): void;
  /** SIGKILL to the group and to everything still alive in the tree; for cleanup. */
  kill(): void;
}

const leaders = new Set<ProcessGroup>();
let exitHookInstalled = false;

export function startProcessGroup(
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string; stdin?: boolean },
): ProcessGroup {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of leaders) group.kill();
    });
  }
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid!;
  const lines: GroupLine[] = [];
  const collect = (stream: 'stdout' | 'stderr') => (raw: string) => {
    // A terminal (under `script`) ends lines with CR LF.
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const line: GroupLine = { stream, text };
    if (text.startsWith('{')) {
      try {
        const msg = (JSON.parse(text) as { msg?: unknown }).msg;
        if (typeof msg === 'string') line.msg = msg;
      } catch {
        // Not JSON after all; kept as text.
      }
    }
    lines.push(line);
    if (process.env.TEST_LOG_LEVEL) process.stderr.write(`[${command} ${args.join(' ')}] ${text}\n`);
  };
  createInterface({ input: child.stdout! }).on('line', collect('stdout'));
  createInterface({ input: child.stderr! }).on('line', collect('stderr'));
  let leaderExited = false;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  child.once('exit', () => {
    leaderExited = true;
  });
  let known = new Set<number>([pgid]);

  const group: ProcessGroup = {
    pgid,
    lines,
    closed,
    tree() {
      const now = descendants(pgid);
      for (const pid of now) known.add(pid);
      return now;
    },
    signal(signal) {
      process.kill(-pgid, signal);
    },
    waitForLine(match, timeoutMs = 60_000) {
      return waitFor(
        () => {
          const found = lines.find((line) => match.test(line.text));
          if (!found && leaderExited) throw new Error(`${command} ${args.join(' ')} exited before printing ${match}`);
          return found;
        },
        { timeoutMs, intervalMs: 50, what: `${match} from ${command} ${args.join(' ')}` },
      );
    },
    messages: (msg) => lines.filter((line) => line.msg === msg),
    write(data) {
      child.stdin!.write(data);
    },
    kill() {
      leaders.delete(group);
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
      for (const pid of [...known, ...descendants(pgid)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
      known = new Set();
    },
  };
  leaders.add(group);
  return group;
}

/** `pid` and all its descendants, from /proc (a process whose parent died is no longer found). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    found.push(parent);
    for (const child of children.get(parent) ?? []) visit(child);
  };
  if (alive(pid)) visit(pid);
  return found;
}

/** False for a process that is gone or a zombie (dead, only waiting for its parent to reap it). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of `pid`, for messages. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return `(pid ${pid} gone)`;
  }
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The port of Fastify's `Server listening at http://…:port` line. */
export function listeningPort(group: ProcessGroup): number | undefined {
  for (const line of group.lines) {
    const match = /^Server listening at https?:\/\/[^/]+:(\d+)$/.exec(line.msg ?? '');
    if (match) return Number(match[1]);
  }
  return undefined;
}

/**
 * `npm run build` into a folder of its own (a package.json beside dist/), so `npm start` runs the
 * compiled server there while a build elsewhere in the checkout cannot change it underneath.
 * Returns the folder to run `npm start` in; the compiled code finds drizzle/ and node_modules in
 * the checkout above it, and public/ through a link.
 */
export function buildForNpmStart(): { cwd: string; remove(): void } {
  const cwd = join(repoRoot, 'test-results', `npm-start-${uniqueSuffix()}`);
  mkdirSync(cwd, { recursive: true });
  copyFileSync(join(repoRoot, 'package.json'), join(cwd, 'package.json'));
  symlinkSync(join(repoRoot, 'public'), join(cwd, 'public'));
  const build = spawnSync('npm', ['run', 'build', '--', '--outDir', join(cwd, 'dist')], { cwd: repoRoot, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  return { cwd, remove: () => rmSync(cwd, { recursive: true, force: true }) };
}
