import { join } from 'node:path';
import type { SendTemplate } from '../load/stomp-wire.js';
import { startNodeTarget, type NodeTargetProcess } from './node-target-process.js';
import { freePort } from '../../scripts/lib/ports.mjs';
import { waitUntilReady } from '../../scripts/lib/processes.mjs';
import type { Plan, Target } from './target.js';

/** bench/ceiling-server.ts in a process of its own. */
export function createCeilingTarget(options: { root: string; logDir: string }): Target {
  let target: NodeTargetProcess | undefined;
  let port = 0;
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
      target = await startNodeTarget(['--import', 'tsx', join(options.root, 'bench/ceiling-server.ts')], {
        cwd: options.root,
        env: { ...process.env, PORT: String(port) },
        logFile: join(options.logDir, 'ceiling.log'),
      });
      await waitUntilReady('ceiling server', async () => (await stats()).connections >= 0, { timeoutMs: 20_000, child: target.child });
    },
    async prepare(_plan: Plan) {},
    connectHeaders: () => ({}),
    subscribeDestination: (room) => `/topic/room.${room}`,
    sendTemplate: (room): SendTemplate => ({ destination: `/topic/room.${room}`, contentType: 'text/plain', prefix: '', suffix: '' }),
    storedCount: async () => null,
    async settle() {},
    memory: () => target!.memory(),
    pid: () => target?.child.pid,
    openFilesLimit: () => target?.openFilesLimit()?.soft,
    async stop() {
      await target?.stop(5_000);
    },
  };
}
