import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNginx } from '../../scripts/lib/binaries.mjs';
import { startNginx, type RunningNginx } from '../../scripts/scale-out.js';
import { randomAddress, requestFrom } from '../helpers/loopback-client.js';
import { portFree } from '../helpers/process-group.js';
import { uniqueSuffix } from '../helpers/services.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';

/**
 * Issue 15 item 2: the per-address login limit keys on the address the trusted proxy saw, never on
 * an X-Forwarded-For entry the client wrote. Clients are told apart on loopback by source address
 * (127.0.0.2, 127.0.0.3, …). Every login names a fresh unknown email, so only the per-address
 * limit (AUTH_RATE_LIMIT_PER_MINUTE, 30) can answer 429.
 */
const PER_MINUTE = 30;
const nginxBinary = findNginx();
const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) });
let direct: TestApp;
let proxied: TestApp;
let nginx: RunningNginx | undefined;
let prefixDir: string | undefined;

beforeAll(async () => {
  direct = await startTestApp(isolation, { env: { INSTANCE_ID: 'direct' } });
  // Behind nginx, which reaches it from 127.0.0.1; the same database, another Redis key prefix.
  proxied = await startTestApp(isolation, {
    env: { INSTANCE_ID: 'proxied', TRUST_PROXY: '127.0.0.1', REDIS_KEY_PREFIX: `${isolation.env.REDIS_KEY_PREFIX}proxied:` },
  });
  if (nginxBinary) {
    prefixDir = mkdtempSync(join(tmpdir(), 'chat-nginx-'));
    const upstream = new URL(proxied.baseUrl).host;
    let port = 0;
    for (let candidate = 20_000 + Math.floor(Math.random() * 10_000); !port; candidate += 1)
      if (await portFree(candidate)) port = candidate;
    nginx = await startNginx({ port, upstreams: [upstream, upstream], prefixDir, quiet: true });
  }
});

afterAll(async () => {
  await nginx?.stop();
  if (prefixDir) rmSync(prefixDir, { recursive: true, force: true });
  await proxied?.close();
  await direct?.close();
  await cleanupTestEnv(isolation, direct?.app);
});

/** `count` logins from `from`, each with a new unknown email; the status codes in order. */
async function logins(baseUrl: string, from: string, count: number, headers: () => Record<string, string> = () => ({})): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < count; attempt += 1) {
    const email = `nobody_${uniqueSuffix()}@example.com`;
    const response = await requestFrom(from, `${baseUrl}/api/auth/login`, {
      json: { email, password: 'wrong horse battery' },
      headers: headers(),
    });
    statuses.push(response.status);
  }
  return statuses;
}
const limited = (statuses: number[]) => statuses.filter((status) => status === 429).length;

describe('per-address login limit', () => {
  it('should limit 100 logins with a random X-Forwarded-For each, straight to the app, like 100 without the header', async () => {
    const plain = await logins(direct.baseUrl, '127.0.0.2', 100);
    const forged = await logins(direct.baseUrl, '127.0.0.3', 100, () => ({ 'x-forwarded-for': randomAddress() }));
    expect(limited(plain)).toBe(100 - PER_MINUTE);
    expect(limited(forged)).toBe(limited(plain));
    expect(forged.slice(0, PER_MINUTE).every((status) => status === 401)).toBe(true);
    console.info(`trust proxy, direct: 429 for ${limited(plain)}/100 plain and ${limited(forged)}/100 with a forged X-Forwarded-For`);
  });

  it.skipIf(!nginxBinary)(
    'should give each real client behind nginx a bucket of its own, which a forged X-Forwarded-For cannot renew',
    async () => {
      const proxy = `http://127.0.0.1:${nginx!.port}`;
      const first = await logins(proxy, '127.0.0.4', PER_MINUTE + 1);
      expect(limited(first)).toBe(1);
      expect(first.at(-1)).toBe(429);
      // Another client of the same nginx still has its whole allowance.
      const second = await logins(proxy, '127.0.0.5', PER_MINUTE);
      expect(limited(second)).toBe(0);
      // The first one forging the header through nginx gets nowhere: nginx appends what it saw.
      const forged = await logins(proxy, '127.0.0.4', 10, () => ({ 'x-forwarded-for': randomAddress() }));
      expect(limited(forged)).toBe(10);
      console.info(
        `trust proxy, through nginx: client A 429 after ${PER_MINUTE}, client B ${PER_MINUTE} of ${PER_MINUTE} allowed, A forging X-Forwarded-For: ${limited(forged)}/10 refused`,
      );
    },
  );
});
