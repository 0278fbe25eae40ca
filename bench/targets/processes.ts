/** /proc readings of the target processes (Linux). Starting and stopping them: scripts/lib/processes.mjs. */
import { readFileSync } from 'node:fs';

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
