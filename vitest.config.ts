import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // An unhandled error or rejection fails the run even when every test passed (vitest's default,
    // stated so that nobody turns it off quietly): it is a bug, usually a promise nobody awaited.
    dangerouslyIgnoreUnhandledErrors: false,
    projects: [
      {
        test: {
          name: 'unit',
          // Replay tests run recorded workflow histories through today's workflow code: no server.
          include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          // One stack, shared by every file: run files one after another so they do not compete for the
          // two cores and time out on each other.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
