/**
 * Heap in use after a full garbage collection, read over the V8 inspector of a Node target started
 * with `--inspect=127.0.0.1:<port>`. Heap figures read without a collection are mostly the garbage
 * of whatever ran last (a connect burst leaves megabytes that idle sockets never trigger a GC to
 * free), which makes "heap per connection" noise.
 *
 * The session stays open between readings: a target that has used up its open-files limit on
 * client connections cannot accept a new inspector connection, and that is exactly when the
 * second reading is taken.
 */
import WebSocket from 'ws';

export interface InspectorSession {
  heapUsedAfterGc(): Promise<number>;
  close(): void;
}

export async function openInspector(inspectPort: number, timeoutMs = 30_000): Promise<InspectorSession> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
    if (message.id !== undefined) pending.get(message.id)?.(message.result ?? {});
  });
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), timeoutMs);
      pending.set(id, (result) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(result);
      });
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    async heapUsedAfterGc() {
      await call('HeapProfiler.collectGarbage');
      const usage = await call('Runtime.getHeapUsage');
      return Number(usage.usedSize);
    },
    close: () => ws.close(),
  };
}
