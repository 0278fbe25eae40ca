import { join } from 'node:path';
import type { SendTemplate } from '../load/stomp-wire.js';
import { openInspector, type InspectorSession } from './inspector.js';
import { freePort, openFilesLimit, rssOf, startChild, waitUntilReady, type ManagedChild } from './processes.js';
import type { MemorySample, Plan, Target } from './target.js';

/** bench/ceiling-server.ts in a process of its own. */
export function createCeilingTarget(options: { root: string; logDir: string }): Target {
  let child: ManagedChild | undefined;
  let port = 0;
  let inspectPort = 0;
  let inspector: Promise<InspectorSession> | undefined;
  const notes: string[] = ['bench/ceiling-server.ts: plain ws, forwards each SEND body to the room sockets; no broker, storage or auth'];

  const stats = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/stats`);
    return (await response.json()) as { rss: number; heapUsed: number; connections: number };
  };

  return {
    name: 'ceiling',
    label: 'raw ws ceiling',
    notes,
    stores: false,
    get url() {
      return `ws://127.0.0.1:${port}/ws`;
    },
    protocols: ['v12.stomp'],
    async start() {
      port = await freePort();
      inspectPort = await freePort();
      child = startChild(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, '--import', 'tsx', join(options.root, 'bench/ceiling-server.ts')], {
        cwd: options.root,
        env: { ...process.env, PORT: String(port) },
        logFile: join(options.logDir, 'ceiling.log'),
      });
      await waitUntilReady('ceiling server', async () => (await stats()).connections >= 0, { timeoutMs: 20_000, child });
    },
    async prepare(_plan: Plan) {},
    connectHeaders: () => ({}),
    subscribeDestination: (room) => `/topic/room.${room}`,
    sendTemplate: (room): SendTemplate => ({ destination: `/topic/room.${room}`, contentType: 'text/plain', prefix: '', suffix: '' }),
    storedCount: async () => null,
    async settle() {},
    async memory(): Promise<MemorySample> {
      inspector ??= openInspector(inspectPort);
      const heapBytes = await inspector.then((session) => session.heapUsedAfterGc()).catch(() => null);
      return { rssBytes: rssOf(child!.pid), heapBytes };
    },
    pid: () => child?.pid,
    openFilesLimit: () => (child ? openFilesLimit(child.pid)?.soft : undefined),
    async stop() {
      void inspector?.then((session) => session.close()).catch(() => {});
      await child?.stop(5_000);
    },
  };
}
