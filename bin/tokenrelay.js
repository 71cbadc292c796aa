#!/usr/bin/env node
// A source checkout runs the TypeScript through tsx, so a stale dist/ left by an earlier build never
// shadows src/; an installed package has no src/ and runs the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
