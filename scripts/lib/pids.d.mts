export function readPid(file: string, lineIndex?: number): number | undefined;
export function isAlive(pid: number): boolean;
/** Alive and its command line contains `marker`: safe to signal. */
export function isOurProcess(pid: number | undefined, marker: string): boolean;
export function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean>;
/** `signal` (default SIGTERM), a bounded wait, then SIGKILL; resolves with what happened. */
export function terminatePid(
  pid: number,
  options: { timeoutMs: number; signal?: NodeJS.Signals; onEscalate?: () => void },
): Promise<string>;
