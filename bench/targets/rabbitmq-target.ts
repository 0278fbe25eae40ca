import WebSocket from 'ws';
import { connectFrame, FrameSplitter, type SendTemplate } from '../load/stomp-wire.js';
import { openFilesLimit, rssOf, runCommand } from './processes.js';
import type { MemorySample, Plan, Target } from './target.js';

const CREDENTIALS = { login: 'guest', passcode: 'guest', host: '/' };

/** True when a STOMP CONNECT over the Web-STOMP endpoint gets CONNECTED. */
function probeWebStomp(url: string, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false });
    const splitter = new FrameSplitter();
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    ws.on('open', () => ws.send(connectFrame(CREDENTIALS)));
    ws.on('message', (data: Buffer) => splitter.push(data, (frame) => finish(frame.command === 'CONNECTED')));
    ws.on('error', () => finish(false));
  });
}

/**
 * The local RabbitMQ's Web-STOMP endpoint, the broker a Spring STOMP application relays to.
 * RabbitMQ is a system service here: the bench enables the plugin when it is off and raises the
 * broker's open-files limit for the connections workload, and records both in the results.
 */
export function createRabbitTarget(options: { url: string; neededFiles: number }): Target {
  const notes: string[] = [];
  let pid: number | undefined;

  const erlangEval = async (expression: string) => {
    const { code, output } = await runCommand('rabbitmqctl', ['eval', expression], { timeoutMs: 30_000 });
    if (code !== 0) throw new Error(`rabbitmqctl eval failed: ${output.trim()}`);
    return output.trim();
  };

  return {
    name: 'rabbitmq',
    label: 'RabbitMQ Web-STOMP',
    notes,
    stores: false,
    url: options.url,
    protocols: ['v12.stomp'],
    async start() {
      if (!(await probeWebStomp(options.url))) {
        const enabled = await runCommand('rabbitmq-plugins', ['enable', 'rabbitmq_web_stomp'], { timeoutMs: 60_000 });
        if (enabled.code !== 0) throw new Error(`RabbitMQ Web-STOMP not answering at ${options.url}, and enabling it failed: ${enabled.output.trim()}`);
        notes.push('rabbitmq_web_stomp was not enabled: the bench ran `rabbitmq-plugins enable rabbitmq_web_stomp`');
        const deadline = Date.now() + 30_000;
        while (!(await probeWebStomp(options.url))) {
          if (Date.now() > deadline) throw new Error(`RabbitMQ Web-STOMP still not answering at ${options.url} after enabling the plugin`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      const version = await erlangEval('rabbit_misc:version().').catch(() => 'unknown');
      notes.push(`RabbitMQ ${version.replace(/"/g, '')}, login guest/guest, destinations /topic/room.N (amq.topic, transient auto-delete queues)`);
      pid = Number(await erlangEval('list_to_integer(os:getpid()).'));
      const limit = openFilesLimit(pid);
      if (limit && limit.soft < options.neededFiles) {
        const wanted = Math.max(options.neededFiles, Math.min(limit.hard, 1 << 20));
        const raised = await runCommand('prlimit', [`--pid=${pid}`, `--nofile=${wanted}:${Math.max(wanted, limit.hard)}`], { timeoutMs: 5_000 });
        notes.push(
          raised.code === 0
            ? `raised the broker's open-files limit from ${limit.soft} to ${wanted} (prlimit) so the connections workload is not capped by it`
            : `broker's open-files limit is ${limit.soft} and could not be raised (${raised.output.trim()}): it caps the connections workload`,
        );
      }
    },
    async prepare(_plan: Plan) {},
    connectHeaders: () => CREDENTIALS,
    subscribeDestination: (room) => `/topic/room.${room}`,
    sendTemplate: (room): SendTemplate => ({ destination: `/topic/room.${room}`, contentType: 'text/plain', prefix: '', suffix: '' }),
    storedCount: async () => null,
    async settle() {},
    async memory(): Promise<MemorySample> {
      // Collected first, like the Node targets, so the figure is live memory rather than garbage.
      const total = Number(await erlangEval('[erlang:garbage_collect(P) || P <- erlang:processes()], erlang:memory(total).').catch(() => 'NaN'));
      return { rssBytes: rssOf(pid!), heapBytes: Number.isFinite(total) ? total : null };
    },
    pid: () => pid,
    async stop() {},
  };
}
