// Where the integration suite's stack lives. The global setup wipes it (`dev up --reset`) and fills it;
// test/support/run-integration.ts gives each shard a folder of its own below it through
// TOKENRELAY_TEST_HOME. Plain Node, no vitest: child processes of tests read it too.
import { resolve } from 'node:path';

export const DEFAULT_TEST_HOME = '.tokenrelay/test-stack';

/** TOKENRELAY_TEST_HOME, else `.tokenrelay/test-stack`, resolved against the working directory. */
export function testHomeFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TOKENRELAY_TEST_HOME ?? DEFAULT_TEST_HOME);
}
