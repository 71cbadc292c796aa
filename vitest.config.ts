import { defineConfig } from 'vitest/config';
import ShardByTimeSequencer from './test/support/shard-sequencer.js';

export default defineConfig({
  test: {
    // An unhandled error or rejection fails the run even when every test passed (vitest's default,
    // stated so that nobody turns it off quietly): it is a bug, usually a promise nobody awaited.
    dangerouslyIgnoreUnhandledErrors: false,
    // `--shard i/n` splits the integration files by their usual running time, not by name
    // (test/support/run-integration.ts runs the shards side by side, each on a stack of its own).
    sequence: { sequencer: ShardByTimeSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          // Replay tests run recorded workflow histories through today's workflow code: no server.
          include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'],
          // Unit files share their worker processes: a fresh process per file cost 66 s of the fast
          // tier against 37 s, nearly all of it loading modules again. So a unit file must leave no
          // global behind (env, Runtime.install, mocks: restore them in afterEach/afterAll); the
          // integration project keeps one process per file.
          isolate: false,
          // Deadlines, not speed limits: with a second checkout's fast tier beside this one (two
          // type-checks, two Go test runs, two unit runs on two cores), 204 HTTP calls to an
          // in-process issuer took over vitest's default 5 s. Speed is measured in `npm run bench`.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          // One stack per vitest process, shared by its files: they run one after another, since some
          // stop the stack's issuer or Temporal server on purpose. Parallelism comes from shards.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
