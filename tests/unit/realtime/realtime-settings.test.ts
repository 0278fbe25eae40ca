import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { DEFAULT_IDLE_PROBE_MS } from '../../../src/realtime/heartbeat-monitor.js';
import { DEFAULT_REALTIME_TIMINGS, realtimeSettings } from '../../../src/realtime/realtime-settings.js';
import { DEFAULT_SESSION_LIMITS } from '../../../src/realtime/session/session-limits.js';

const SECRET = { JWT_SECRET: 'x'.repeat(32) };

/** `| \`NAME\` | \`value\` | …` rows of the README's configuration table. */
function readmeDefaults(): Map<string, string> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const match of readme.matchAll(/^\| `(STOMP_[A-Z_]+)` \| `([^`]+)` \|/gm)) rows.set(match[1]!, match[2]!);
  return rows;
}

describe('realtime settings', () => {
  it('should default to the limits the README and docs/stomp.md state: CONNECT within 10 s, a frame whole within 30 s', () => {
    const { limits, timings } = realtimeSettings(loadConfig(SECRET));
    expect(limits).toEqual(DEFAULT_SESSION_LIMITS);
    expect(timings).toEqual(DEFAULT_REALTIME_TIMINGS);
    expect(timings.idleProbeMs).toBe(DEFAULT_IDLE_PROBE_MS);
    expect(limits.connectTimeoutMs).toBe(10_000);
    expect(limits.frameTimeoutMs).toBe(30_000);

    const documented = readmeDefaults();
    const config = loadConfig(SECRET) as unknown as Record<string, unknown>;
    const variables = Object.keys(config).filter((name) => name.startsWith('STOMP_'));
    expect(variables.length).toBeGreaterThan(10);
    for (const name of variables) expect(documented.get(name), `README row for ${name}`).toBe(String(config[name]));

    const stompDoc = readFileSync(new URL('../../../docs/stomp.md', import.meta.url), 'utf8');
    expect(stompDoc).toContain('| CONNECT | within 10 s of opening the WebSocket');
    expect(stompDoc).toContain('| one frame | whole within 30 s of its first byte');
  });

  it('should take every limit from its variable', () => {
    const { limits, timings } = realtimeSettings(
      loadConfig({
        ...SECRET,
        STOMP_CONNECT_TIMEOUT_MS: '300',
        STOMP_FRAME_TIMEOUT_MS: '400',
        STOMP_MAX_PENDING_FRAMES: '8',
        STOMP_SUBSCRIBE_CONFIRM_TIMEOUT_MS: '250',
        STOMP_USER_SWEEP_INTERVAL_MS: '100',
      }),
    );
    expect([limits.connectTimeoutMs, limits.frameTimeoutMs, limits.maxPendingFrames]).toEqual([300, 400, 8]);
    expect([timings.subscribeConfirmTimeoutMs, timings.userSweepIntervalMs]).toEqual([250, 100]);
  });

  it('should refuse read marks out of order, naming the variables', () => {
    expect(() => realtimeSettings(loadConfig({ ...SECRET, STOMP_READ_RESUME_BYTES: '300000' }))).toThrow(ConfigError);
    expect(() => loadConfig({ ...SECRET, STOMP_FRAME_TIMEOUT_MS: '0' })).toThrow(/STOMP_FRAME_TIMEOUT_MS/);
  });
});
