import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e suites start real processes on real ports; keep files apart so they do not fight for CPU.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
