/**
 * Processes known only by a pid in a file: daemons an earlier run started and left running.
 * A pid file can outlive its process and the pid be reused by a stranger, so nothing is
 * signalled before `isOurProcess` has checked its command line.
 */
import fs from 'node:fs';
import { secondsSince, sleep } from './wait.mjs';

/** The pid on line `lineIndex` of `file` (postmaster.pid has more than one line), or undefined. */
export function readPid(file, lineIndex = 0) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[lineIndex]?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  // A zombie still "exists" for kill(0); /proc tells the truth on Linux.
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Alive, and its command line contains `marker` (without /proc, the pid file is trusted). */
export function isOurProcess(pid, marker) {
  if (!pid || !isAlive(pid)) return false;
  let cmdline;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return cmdline.replace(/\0/g, ' ').includes(marker);
}

/** Resolves true once `pid` is gone, false if it is still there after `timeoutMs`. */
export async function waitForPidExit(pid, timeoutMs) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (!isAlive(pid)) return true;
    await sleep(200);
  }
  return !isAlive(pid);
}

/**
 * Sends `signal` (SIGTERM), waits up to `timeoutMs`, then SIGKILL; resolves with what happened
 * ("gone", "stopped in 1.2s", "killed after 30.0s"). `onEscalate` hears about the SIGKILL.
 */
export async function terminatePid(pid, { timeoutMs, signal = 'SIGTERM', onEscalate }) {
  const start = Date.now();
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (err.code === 'ESRCH') return 'gone';
    throw err;
  }
  if (await waitForPidExit(pid, timeoutMs)) return `stopped in ${secondsSince(start)}s`;
  onEscalate?.();
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
  await waitForPidExit(pid, 5000);
  return `killed after ${secondsSince(start)}s`;
}
