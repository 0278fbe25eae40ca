import type { ChildProcess, SpawnSyncOptions } from 'node:child_process';

export interface RunResult {
  ok: boolean;
  status: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a command to completion, synchronously; never throws for a failed or missing command. */
export function run(cmd: string, args: string[], options?: SpawnSyncOptions): RunResult;
/** Runs a command to completion with its output collected; SIGKILL after `timeoutMs`. */
export function runCommand(
  command: string,
  args: string[],
  options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }>;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}
/** The last `lines` (default 30) lines of a log file, or a note that it does not exist. */
export function fileTail(file: string, lines?: number): string;
export function describeExit(status: ExitStatus): string;

export type ChildOutput =
  'ignore' | 'inherit' | { file: string; append?: boolean } | { onLine: (line: string, stream: 'stdout' | 'stderr') => void };

export interface StartChildOptions {
  /** For messages; default the command's file name. */
  name?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  output?: ChildOutput;
  /** Its own session: not waited for, not killed when this process exits. */
  daemon?: boolean;
  /** Sent to it if this process exits while it runs (default SIGKILL); false leaves it running. */
  exitSignal?: NodeJS.Signals | false;
}

export interface ManagedChild {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles when it has exited, whatever the cause. */
  readonly exited: Promise<ExitStatus>;
  readonly running: boolean;
  /** Undefined while it runs. */
  exitStatus(): ExitStatus | undefined;
  /** Its last lines of output. */
  tail(lines?: number): string;
  /** Sends `signal` if it still runs; true when sent. */
  signal(signal: NodeJS.Signals): boolean;
  /** Resolves when it exits; rejects after `timeoutMs` (it keeps running). */
  waitForExit(timeoutMs: number, why?: string): Promise<ExitStatus>;
  /** `signal` (default SIGTERM), up to `timeoutMs` (default 30 s) to exit, then SIGKILL. */
  stop(options?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<ExitStatus>;
}

/** Starts a long-running child; throws ScriptError when it cannot be spawned. */
export function startChild(command: string, args: string[], options?: StartChildOptions): ManagedChild;

/** Polls `ready` until true; fails when `child` exits first or after `timeoutMs`, with its last lines. */
export function waitUntilReady(
  what: string,
  ready: () => Promise<boolean>,
  options: { timeoutMs: number; child?: ManagedChild; intervalMs?: number },
): Promise<void>;
