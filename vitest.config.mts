import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal native bridge breaks under worker threads.
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          // The chaos suite's quick subset lives beside the suite (chaos/quick.test.ts).
          include: ['test/integration/**/*.test.ts', 'chaos/quick.test.ts'],
          // One real Temporal dev server per test run, shared through provide/inject.
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
