import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration tests share one Kafka broker and one PostgreSQL server on a 2-core machine;
    // two workers keep them fast without starving the broker.
    maxWorkers: 2,
    env: { UV_THREADPOOL_SIZE: '16' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        extends: true,
        test: {
          // The benchmark harness end to end (bench/bench.sh --smoke). A project of its own, so
          // `--project integration` runs the product's tests only; `npm test` runs it in the same
          // invocation as integration, where it ran before, so CI time does not change.
          name: 'bench',
          include: ['tests/bench/**/*.test.ts'],
          globalSetup: ['tests/helpers/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 90_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/helpers/global-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 90_000,
        },
      },
      {
        extends: true,
        test: {
          // Faults and hostile input (issue 10). Outages run against private services the suite
          // starts itself; the hostile-input files use the shared ones. `npm test` runs this
          // project in a second vitest invocation, so its CPU-heavy files never share the two
          // workers with the integration suite's timing-sensitive ones.
          name: 'faults',
          include: ['tests/faults/**/*.test.ts'],
          globalSetup: ['tests/helpers/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
