import { defineConfig } from 'vitest/config';

/**
 * The suite runs against the embedded database by default, and against PostgreSQL when
 * TEST_POSTGRES_URL points at a server (`.ci/run` does both). See test/support/global-setup.ts.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Generous: a bound on a hung test, not a speed check; CI machines are shared and slow at times.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: process.env.CI ? ['default'] : ['default'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
});
