/**
 * What a session writes to its socket. Every write checks the socket's backlog first: a client
 * that does not read is cut off (`onSlowConsumer`), not buffered for without end.
 */
import type { Logger } from '../../logger.js';
import { headerEscaping, serializeFrame, type StompVersion } from '../../stomp/index.js';
import type { LivenessClock } from './liveness-clock.js';
import type { SessionServices, SessionTransport } from './session-types.js';

const HEARTBEAT = Buffer.from('\n');

export class Outbound {
  constructor(
    private readonly deps: {
      transport: SessionTransport;
      services: SessionServices;
      clock: LivenessClock;
      log: Logger;
      maxBufferedBytes: number;
      version: () => StompVersion;
      /** The session is closed by then; the socket still has to go. */
      onSlowConsumer: () => void;
    },
  ) {}

  /** Writes a whole frame; false when the client stopped reading and was cut off instead. */
  write(frame: Buffer): boolean {
    const { transport, services, log } = this.deps;
    const backlog = transport.bufferedAmount();
    if (backlog > this.deps.maxBufferedBytes) {
      log.warn({ backlog }, 'slow consumer: closing session');
      services.onRejected?.('slow-consumer');
      this.deps.onSlowConsumer();
      transport.terminate();
      return false;
    }
    this.deps.clock.sent();
    transport.send(frame);
    return true;
  }

  frame(command: string, headers: Record<string, string>, body?: string): void {
    this.deps.services.onFrame?.('out', command);
    this.write(serializeFrame(command, headers, body, { escape: headerEscaping(this.deps.version(), command) }));
  }

  heartbeat(): void {
    this.write(HEARTBEAT);
  }
}
