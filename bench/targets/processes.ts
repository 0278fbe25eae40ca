/** Child processes and /proc readings shared by the targets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Resident set size of a process, from /proc (Linux), in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export function openFilesLimit(pid: number | 'self'): { soft: number; hard: number } | undefined {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
    if (!match) return undefined;
    const value = (text: string) => (text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text));
    return { soft: value(match[1]!), hard: value(match[2]!) };
  } catch {
    return undefined;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ManagedChild {
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  /** The last lines the child wrote, for error messages. */
  tail(): string;
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts a child with its output in `logFile`, remembering the last few KB for error messages. */
export function startChild(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string }): ManagedChild {
  const log = createWriteStream(options.logFile);
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let recent = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => log.end());
  if (!child.pid) throw new Error(`could not start ${command}`);
  return {
    child,
    pid: child.pid,
    logFile: options.logFile,
    exited,
    tail: () => recent,
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `probe` until it returns true, the child exits, or the deadline passes. */
export async function waitUntilReady(what: string, probe: () => Promise<boolean>, options: { timeoutMs: number; child?: ManagedChild }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exitCode: number | null | undefined;
  void options.child?.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${what} exited (${exitCode}) before it was ready:\n${options.child?.tail() ?? ''}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${options.timeoutMs} ms\n${options.child?.tail() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function runCommand(command: string, args: string[], options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
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
