import type { ClientSpec } from '../load/protocol.js';
import type { Target, UserRef } from '../targets/target.js';

/**
 * Client sockets come from 127.0.0.2–127.0.0.9 in turn: one source address has ~28k ephemeral
 * ports, and a run opens and closes tens of thousands of connections within TIME_WAIT.
 */
export function clientSpec(target: Target, key: number, user: UserRef, subscribeTo?: string): ClientSpec {
  return {
    key,
    url: target.url,
    protocols: target.protocols,
    connectHeaders: target.connectHeaders(user),
    localAddress: `127.0.0.${2 + (key % 8)}`,
    subscribe: subscribeTo === undefined ? undefined : { id: 'sub-0', destination: subscribeTo },
  };
}
