import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/package-root.js';
import { testTempDir } from '../../support/temp-dir.js';

const run = promisify(execFile);

/**
 * A stand-in package with bin/tokenrelay.js, whose dist/ CLI (and src/ CLI, in a checkout) only says
 * which one ran. One per test, so no test sees what another one changed.
 */
async function standIn(kind: 'checkout' | 'installed'): Promise<string> {
  const dir = await testTempDir('tokenrelay-bin-');
  await mkdir(join(dir, 'bin'));
  await copyFile(join(packageRoot(), 'bin', 'tokenrelay.js'), join(dir, 'bin', 'tokenrelay.js'));
  await writeFile(join(dir, 'package.json'), '{"name":"tokenrelay","type":"module"}\n');
  await symlink(join(packageRoot(), 'node_modules'), join(dir, 'node_modules'));
  await mkdir(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  await writeFile(join(dir, 'dist', 'src', 'cli', 'main.js'), "console.log('dist');\n");
  if (kind === 'checkout') {
    await mkdir(join(dir, 'src', 'cli'), { recursive: true });
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), "const from: string = 'src';\nconsole.log(from);\n");
  }
  // What the integration runner compiles (test/support/cli-build.ts), named by TOKENRELAY_TEST_CLI_BUILD.
  await mkdir(join(dir, 'test-build', 'src', 'cli'), { recursive: true });
  await writeFile(join(dir, 'test-build', 'src', 'cli', 'main.js'), "console.log('test build');\n");
  return dir;
}

async function runBin(dir: string, testBuild?: string): Promise<string> {
  const env = { ...process.env, TOKENRELAY_TEST_CLI_BUILD: testBuild ?? '' };
  const { stdout } = await run(process.execPath, [join(dir, 'bin', 'tokenrelay.js')], { env });
  return stdout.trim();
}

describe('bin/tokenrelay.js', () => {
  it('runs the TypeScript sources in a checkout, even when a (stale) dist/ exists', async () => {
    expect(await runBin(await standIn('checkout'))).toBe('src');
  });

  it("runs the integration suite's compiled build in a checkout when TOKENRELAY_TEST_CLI_BUILD names it", async () => {
    const dir = await standIn('checkout');
    expect(await runBin(dir, join(dir, 'test-build'))).toBe('test build');
  });

  it('runs the compiled CLI in an installed package, which has no src/', async () => {
    const dir = await standIn('installed');
    expect(await runBin(dir)).toBe('dist');
    // The test build is for checkouts only: an installed package always runs its own dist/.
    expect(await runBin(dir, join(dir, 'test-build'))).toBe('dist');
  });
});
