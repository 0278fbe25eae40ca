import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_PORT } from '../helpers/services.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';

const isolation = testEnv();
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp(isolation, { listen: false });
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

describe('GET /actuator/health', () => {
  it('should answer 200 UP with db, redis and kafka UP, without auth', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/actuator/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'UP',
      components: { db: { status: 'UP' }, redis: { status: 'UP' }, kafka: { status: 'UP' } },
    });
  });

  it('should answer liveness and readiness probes', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/actuator/health/liveness' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/actuator/health/readiness' })).statusCode).toBe(200);
  });

  it.each([
    ['db', { DATABASE_URL: `postgres://postgres@127.0.0.1:${DEAD_PORT}/chat`, MIGRATE_ON_START: 'false' }],
    ['redis', { REDIS_URL: `redis://127.0.0.1:${DEAD_PORT}` }],
    ['kafka', { KAFKA_BROKERS: `127.0.0.1:${DEAD_PORT}` }],
  ])('should answer 503 with %s DOWN when it is unreachable', async (component, env) => {
    const broken = await startTestApp(isolation, {
      env: { ...env, MIGRATE_ON_START: 'false' },
      overrides: { waitForDependencies: false },
      listen: false,
    });
    try {
      const response = await broken.app.inject({ method: 'GET', url: '/actuator/health' });
      expect(response.statusCode).toBe(503);
      const body = response.json();
      expect(body.status).toBe('DOWN');
      expect(body.components[component].status).toBe('DOWN');
      for (const other of ['db', 'redis', 'kafka'].filter((name) => name !== component)) {
        expect(body.components[other]).toEqual({ status: 'UP' });
      }
      expect((await broken.app.inject({ method: 'GET', url: '/actuator/health/readiness' })).statusCode).toBe(503);
    } finally {
      await broken.close();
    }
  });
});
