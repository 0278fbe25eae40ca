import type { ConnectionsResult } from '../workloads/connections.js';
import type { FanoutResult } from '../workloads/fanout.js';
import type { IngestResult } from '../workloads/ingest.js';

export interface TargetResult {
  name: 'service' | 'rabbitmq' | 'ceiling';
  label: string;
  notes: string[];
  error?: string;
  fanout?: FanoutResult;
  ingest?: IngestResult;
  connections?: ConnectionsResult;
  durationMs: number;
}

export interface GoalCheck {
  goal: string;
  measured: string;
  /** null: not measured in this run (e.g. the smoke sizes, or a target that did not run). */
  met: boolean | null;
}

export interface BenchResults {
  kind: 'full' | 'smoke';
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    kernel: string;
    /** 1/5/15-minute load averages when the run started and ended: other work on the box shows here. */
    loadAverageStart: number[];
    loadAverageEnd: number[];
  };
  options: Record<string, unknown>;
  targets: TargetResult[];
  comparison: {
    fanoutHighest: Record<string, number | null>;
    fanoutRatioToRabbit: number | null;
    fanoutRatioToCeiling: number | null;
    ingestRate: Record<string, number | null>;
    ingestRatioToRabbit: number | null;
    ingestRatioToCeiling: number | null;
  };
  goals: GoalCheck[];
}
