// `make chaos`: the fault suite, separate from `make test` (which runs a quick subset of it from
// chaos/quick.test.ts, in the integration project of vitest.config.mts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['chaos/**/*.chaos.ts'],
    // The Temporal native bridge breaks under worker threads.
    pool: 'forks',
    testTimeout: 25 * 60_000,
    hookTimeout: 25 * 60_000,
    teardownTimeout: 120_000,
  },
});
