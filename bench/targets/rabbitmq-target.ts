import WebSocket from 'ws';
import { connectFrame, FrameSplitter, type SendTemplate } from '../load/stomp-wire.js';
import { runCommand } from '../../scripts/lib/processes.mjs';
import { openFilesLimit, rssOf } from './processes.js';
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
/** Leaves room for the broker's own sockets (distribution, CLI) and the fan-out that came before. */
const connectionCap = (socketsLimit: number) => Math.max(0, socketsLimit - 32);

export function createRabbitTarget(options: { url: string; neededSockets: number }): Target {
  const notes: string[] = [];
  let pid: number | undefined;
  let socketsLimit: number | undefined;

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
        if (enabled.code !== 0)
          throw new Error(`RabbitMQ Web-STOMP not answering at ${options.url}, and enabling it failed: ${enabled.output.trim()}`);
        notes.push('rabbitmq_web_stomp was not enabled: the bench ran `rabbitmq-plugins enable rabbitmq_web_stomp`');
        const deadline = Date.now() + 30_000;
        while (!(await probeWebStomp(options.url))) {
          if (Date.now() > deadline) throw new Error(`RabbitMQ Web-STOMP still not answering at ${options.url} after enabling the plugin`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      const version = await erlangEval('rabbit_misc:version().').catch(() => 'unknown');
      notes.push(
        `RabbitMQ ${version.replace(/"/g, '')}, login guest/guest, destinations /topic/room.N (amq.topic, transient auto-delete queues)`,
      );
      pid = Number(await erlangEval('list_to_integer(os:getpid()).'));
      // RabbitMQ sizes its socket budget from the open-files limit it saw at boot (1,024 here →
      // 832 sockets) and stops answering CONNECT past it; raising the limit of the running VM
      // does not help (its poll set is sized at boot too), so the bench asks for no more than fits.
      const status = await runCommand('rabbitmqctl', ['status', '--formatter', 'json'], { timeoutMs: 60_000 });
      try {
        const json = status.output.slice(status.output.indexOf('{'), status.output.lastIndexOf('}') + 1);
        const limits = (JSON.parse(json) as { file_descriptors?: { sockets_limit?: number } }).file_descriptors;
        socketsLimit = limits?.sockets_limit;
      } catch {
        socketsLimit = undefined;
      }
      if (socketsLimit !== undefined && socketsLimit < options.neededSockets) {
        notes.push(
          `the broker allows ${socketsLimit} sockets (it booted with open files ${openFilesLimit(pid)?.soft ?? '?'}); the connections workload asks it for ${connectionCap(socketsLimit)}. ` +
            'To measure more, raise its limit before it starts (ulimit -n in /etc/default/rabbitmq-server) and restart it',
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
      const total = Number(
        await erlangEval('[erlang:garbage_collect(P) || P <- erlang:processes()], erlang:memory(total).').catch(() => 'NaN'),
      );
      return { rssBytes: rssOf(pid!), heapBytes: Number.isFinite(total) ? total : null };
    },
    pid: () => pid,
    maxConnections: () => (socketsLimit === undefined ? undefined : connectionCap(socketsLimit)),
    async stop() {},
  };
}
