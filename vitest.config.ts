import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'node_modules/**'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one Kafka broker and one PostgreSQL server on a 2-core machine;
    // a couple of workers keeps them fast without starving the broker.
    maxWorkers: 2,
    env: { UV_THREADPOOL_SIZE: '16' },
  },
});
