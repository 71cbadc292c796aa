#!/usr/bin/env node
// A source checkout runs the TypeScript through tsx, so a stale dist/ left by an earlier build never
// shadows src/; an installed package has no src/ and runs the compiled CLI. In a checkout the
// integration suite sets TOKENRELAY_TEST_CLI_BUILD to the CLI it compiled from src/ moments before
// (test/support/cli-build.ts), sparing each of its ~100 CLI processes tsx's start-up.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const testBuild = process.env.TOKENRELAY_TEST_CLI_BUILD;
if (existsSync(source)) {
  if (testBuild) {
    await import(pathToFileURL(join(testBuild, 'src', 'cli', 'main.js')).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('../src/cli/main.ts', import.meta.url).href);
  }
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
