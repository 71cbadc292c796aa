import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/package-root.js';

const run = promisify(execFile);

// bin/tokenrelay.js in a stand-in package whose src/ and dist/ CLIs only say which one ran.
describe('bin/tokenrelay.js', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokenrelay-bin-'));
    await mkdir(join(dir, 'bin'));
    await copyFile(join(packageRoot(), 'bin', 'tokenrelay.js'), join(dir, 'bin', 'tokenrelay.js'));
    await writeFile(join(dir, 'package.json'), '{"name":"tokenrelay","type":"module"}\n');
    await symlink(join(packageRoot(), 'node_modules'), join(dir, 'node_modules'));
    await mkdir(join(dir, 'src', 'cli'), { recursive: true });
    await mkdir(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), "const from: string = 'src';\nconsole.log(from);\n");
    await writeFile(join(dir, 'dist', 'src', 'cli', 'main.js'), "console.log('dist');\n");
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the TypeScript sources in a checkout, even when a (stale) dist/ exists', async () => {
    const { stdout } = await run(process.execPath, [join(dir, 'bin', 'tokenrelay.js')]);
    expect(stdout.trim()).toBe('src');
  });

  it("runs the integration suite's compiled build in a checkout when TOKENRELAY_TEST_CLI_BUILD names it", async () => {
    const build = join(dir, 'test-build');
    await mkdir(join(build, 'src', 'cli'), { recursive: true });
    await writeFile(join(build, 'src', 'cli', 'main.js'), "console.log('test build');\n");
    const env = { ...process.env, TOKENRELAY_TEST_CLI_BUILD: build };
    const { stdout } = await run(process.execPath, [join(dir, 'bin', 'tokenrelay.js')], { env });
    expect(stdout.trim()).toBe('test build');
  });

  it('runs the compiled CLI in an installed package, which has no src/', async () => {
    await rm(join(dir, 'src'), { recursive: true });
    const { stdout } = await run(process.execPath, [join(dir, 'bin', 'tokenrelay.js')]);
    expect(stdout.trim()).toBe('dist');
    // The test build is for checkouts only: an installed package always runs its own dist/.
    const env = { ...process.env, TOKENRELAY_TEST_CLI_BUILD: join(dir, 'test-build') };
    const installed = await run(process.execPath, [join(dir, 'bin', 'tokenrelay.js')], { env });
    expect(installed.stdout.trim()).toBe('dist');
  });
});
