import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Payload boots once per file; files run one after another on the shared PostgreSQL and S3 servers.
    fileParallelism: false,
    globalSetup: ['test/setup/services.ts'],
    hookTimeout: 60_000,
    include: ['test/unit/**/*.test.{ts,tsx}', 'test/int/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
  },
})
