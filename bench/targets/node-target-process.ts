/**
 * A Node target (the service or the ceiling server) in a process of its own, started with the
 * inspector on a loopback port so the connections workload can read its heap after a full GC.
 */
import { openInspector, type InspectorSession } from './inspector.js';
import { freePort } from '../../scripts/lib/ports.mjs';
import { startChild, type ManagedChild } from '../../scripts/lib/processes.mjs';
import { openFilesLimit, rssOf } from './processes.js';
import type { MemorySample } from './target.js';

export interface NodeTargetProcess {
  child: ManagedChild;
  memory(): Promise<MemorySample>;
  /** The process's open-files limits; past the soft one the kernel refuses its connections. */
  openFilesLimit(): { soft: number; hard: number } | undefined;
  stop(timeoutMs: number): Promise<void>;
}

export async function startNodeTarget(
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string; nodeArgs?: string[] },
): Promise<NodeTargetProcess> {
  const inspectPort = await freePort();
  const child = startChild(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, ...(options.nodeArgs ?? []), ...args], {
    cwd: options.cwd,
    env: options.env,
    output: { file: options.logFile },
  });
  // Opened on first use and kept: see inspector.ts for why the session must outlive one reading.
  let inspector: Promise<InspectorSession> | undefined;
  return {
    child,
    async memory() {
      inspector ??= openInspector(inspectPort);
      const heapBytes = await inspector.then((session) => session.heapUsedAfterGc()).catch(() => null);
      return { rssBytes: rssOf(child.pid), heapBytes };
    },
    openFilesLimit: () => openFilesLimit(child.pid),
    async stop(timeoutMs) {
      void inspector?.then((session) => session.close()).catch(() => {});
      await child.stop({ timeoutMs });
    },
  };
}
