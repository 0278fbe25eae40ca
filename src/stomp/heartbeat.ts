/**
 * `heart-beat` header parsing and negotiation (STOMP 1.2 "Heart-beating").
 *
 * Invariants:
 * - A missing header means "0,0". A present one is exactly two decimal integers and a comma (no
 *   spaces: 1.2 never trims values); anything else, or a value no timer can hold (over 2^31-1 ms),
 *   is a fatal 'bad-heart-beat' error.
 * - Per direction: 0 on either side means no heart-beats; otherwise MAX(what the sender can do, what
 *   the receiver wants), and never below `floorMs`, so a client cannot make the server tick every
 *   millisecond.
 * - The CONNECTED header we return makes the client's own MAX() land on exactly the intervals the
 *   server uses, so both ends agree even when the floor raised a value.
 */
import { StompProtocolError, preview } from './errors.js';

/** One side's `heart-beat` header: what it can send, and what it wants to receive (0 = none). */
export interface HeartbeatSpec {
  outgoingMs: number;
  incomingMs: number;
}

export interface NegotiatedHeartbeat {
  /** Server → client interval; 0 = the server sends no heart-beats. */
  sendEveryMs: number;
  /** Client → server interval; 0 = the server expects none. */
  expectEveryMs: number;
  /** The `heart-beat` value for the CONNECTED frame. */
  header: string;
}

export interface HeartbeatNegotiationOptions {
  /** Lowest interval either direction may use. Defaults to 1000 ms. */
  floorMs?: number;
}

/** What a STOMP EOL heart-beat looks like on the wire. */
export const HEARTBEAT_EOL = '\n';

const MAX_TIMER_MS = 2 ** 31 - 1;
const HEARTBEAT_PATTERN = /^([0-9]+),([0-9]+)$/;

export function parseHeartbeat(value: string | undefined): HeartbeatSpec {
  if (value === undefined) return { outgoingMs: 0, incomingMs: 0 };
  const match = HEARTBEAT_PATTERN.exec(value);
  const outgoingMs = Number(match?.[1]);
  const incomingMs = Number(match?.[2]);
  if (!match || outgoingMs > MAX_TIMER_MS || incomingMs > MAX_TIMER_MS) {
    throw new StompProtocolError('bad-heart-beat', `heart-beat ${preview(value)} is not two millisecond counts`);
  }
  return { outgoingMs, incomingMs };
}

export function formatHeartbeat(spec: HeartbeatSpec): string {
  return `${spec.outgoingMs},${spec.incomingMs}`;
}

export function negotiateHeartbeat(
  client: HeartbeatSpec,
  server: HeartbeatSpec,
  options: HeartbeatNegotiationOptions = {},
): NegotiatedHeartbeat {
  const floorMs = options.floorMs ?? 1000;
  const sendEveryMs = interval(server.outgoingMs, client.incomingMs, floorMs);
  const expectEveryMs = interval(client.outgoingMs, server.incomingMs, floorMs);
  return { sendEveryMs, expectEveryMs, header: `${sendEveryMs},${expectEveryMs}` };
}

function interval(senderCanMs: number, receiverWantsMs: number, floorMs: number): number {
  if (senderCanMs === 0 || receiverWantsMs === 0) return 0;
  return Math.max(senderCanMs, receiverWantsMs, floorMs);
}
