/**
 * CPU seconds spent per process group between two snapshots, from /proc/<pid>/stat (Linux). On a
 * 2-core box shared by every target, the load generator, Kafka, PostgreSQL, Redis and whatever else
 * runs, this is what shows who a workload's time went to, and how much of the machine was busy
 * with something else ("other") while it was measured.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export type CpuGroup = 'target' | 'generator' | 'kafka' | 'postgres' | 'redis' | 'other';
export type CpuSnapshot = { at: number; processes: Map<number, { group: CpuGroup; ticks: number }> };
export type CpuUsage = Record<CpuGroup, number> & { wallSeconds: number };
/** Which processes are the target and which the load generator (orchestrator and its workers). */
export interface CpuOwners {
  target: number | undefined;
  generator: number[];
}

function classify(pid: number, owners: CpuOwners, comm: string): CpuGroup {
  if (pid === owners.target) return 'target';
  if (owners.generator.includes(pid)) return 'generator';
  if (comm === 'postgres') return 'postgres';
  if (comm === 'redis-server') return 'redis';
  if (comm === 'java') {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('kafka.Kafka')) return 'kafka';
    } catch {
      return 'other';
    }
  }
  return 'other';
}

export function cpuSnapshot(owners: CpuOwners): CpuSnapshot {
  const processes = new Map<number, { group: CpuGroup; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // comm is in parentheses and may itself contain spaces or parentheses.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After comm: state is field 3 of the man page, utime 14 and stime 15 → indices 11 and 12 here.
    const used = Number(fields[11]) + Number(fields[12]);
    processes.set(Number(entry), { group: classify(Number(entry), owners, comm), ticks: used });
  }
  return { at: performance.now(), processes };
}

/** `target 1.2 kafka 0.4 …` CPU seconds, for log lines and tables. */
export function describeCpu(usage: CpuUsage | undefined): string {
  if (!usage) return '–';
  return `target ${usage.target} / kafka ${usage.kafka} / pg ${usage.postgres} / redis ${usage.redis} / load ${usage.generator} / other ${usage.other} in ${usage.wallSeconds} s`;
}

/**
 * CPU seconds per group between `from` and now. A process started in between counts whole; one
 * that ended in between is missing (its last ticks are unknown), so "other" is a lower bound.
 */
export function cpuSince(from: CpuSnapshot, owners: CpuOwners): CpuUsage {
  const to = cpuSnapshot(owners);
  const ticks: Record<CpuGroup, number> = { target: 0, generator: 0, kafka: 0, postgres: 0, redis: 0, other: 0 };
  for (const [pid, now] of to.processes) ticks[now.group] += now.ticks - (from.processes.get(pid)?.ticks ?? 0);
  const seconds = (group: CpuGroup) => Math.max(0, Math.round((ticks[group] / TICKS_PER_SECOND) * 100) / 100);
  return {
    target: seconds('target'),
    generator: seconds('generator'),
    kafka: seconds('kafka'),
    postgres: seconds('postgres'),
    redis: seconds('redis'),
    other: seconds('other'),
    wallSeconds: Math.round((to.at - from.at) / 10) / 100,
  };
}
