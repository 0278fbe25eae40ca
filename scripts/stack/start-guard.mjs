import { ScriptError } from '../lib/errors.mjs';
import { isLoopback } from './config.mjs';

const downFirst = (service) => `run "node scripts/stack.mjs down ${service}" first`;

/**
 * Throws why the stack must not start `service` where nothing of its kind answered (`probe`):
 * not on loopback (the stack only reuses remote services), the port taken by another program,
 * or the stack's own server already running (elsewhere, or here without answering).
 * @param {{ service: string, what: string, speaks: string, cfg: { host: string, port: number },
 *   probe: { state: string, detail?: string }, mine?: { pid: number, port?: number }, probed?: string }} options
 *   `probed`: every address that was tried, when more than the one the stack would start on
 */
export function assertMayStart({ service, what, speaks, cfg, probe, mine, probed }) {
  const where = `${cfg.host}:${cfg.port}`;
  if (!isLoopback(cfg.host)) {
    throw new ScriptError(`no ${what} answers at ${probed ?? where} (${probe.detail}), and the stack only starts services on loopback`);
  }
  if (probe.state === 'foreign') throw new ScriptError(`something listens on ${where} but does not ${speaks} (${probe.detail})`);
  if (mine && mine.port !== cfg.port) {
    throw new ScriptError(`the stack's server (pid ${mine.pid}) runs on port ${mine.port}, not ${cfg.port}; ${downFirst(service)}`);
  }
  if (mine) throw new ScriptError(`the stack's server (pid ${mine.pid}) is running but does not answer at ${where}; ${downFirst(service)}`);
}
