import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureTemporalCli,
  ensureTemporalServer,
  ensureTokenrelayServer,
  serverSourceHash,
  TEMPORAL_CLI_VERSION,
  temporalCliCacheDir,
  temporalServerCacheDir,
  tokenrelayServerCacheDir,
  tokenrelayServerSourceDir,
} from '../../../src/devstack/temporal-install.js';

const saved = {
  PATH: process.env.PATH,
  XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
  TOKENRELAY_TEMPORAL_SERVER: process.env.TOKENRELAY_TEMPORAL_SERVER,
  TOKENRELAY_TEMPORAL_CLI: process.env.TOKENRELAY_TEMPORAL_CLI,
};
let cache: string;

beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'tr-cache-'));
  process.env.XDG_CACHE_HOME = cache;
  delete process.env.TOKENRELAY_TEMPORAL_SERVER;
  delete process.env.TOKENRELAY_TEMPORAL_CLI;
});
afterEach(async () => {
  process.env.PATH = saved.PATH;
  process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
  if (saved.TOKENRELAY_TEMPORAL_SERVER === undefined) delete process.env.TOKENRELAY_TEMPORAL_SERVER;
  else process.env.TOKENRELAY_TEMPORAL_SERVER = saved.TOKENRELAY_TEMPORAL_SERVER;
  if (saved.TOKENRELAY_TEMPORAL_CLI === undefined) delete process.env.TOKENRELAY_TEMPORAL_CLI;
  else process.env.TOKENRELAY_TEMPORAL_CLI = saved.TOKENRELAY_TEMPORAL_CLI;
  await rm(cache, { recursive: true, force: true });
});

describe('ensureTemporalServer (stock build, kept for comparisons)', () => {
  it('keeps the build in a per-version cache folder outside the project', () => {
    expect(temporalServerCacheDir('v1.30.8')).toBe(join(cache, 'tokenrelay', 'temporal-server-v1.30.8'));
  });

  it('says to install Go (or use a prebuilt binary) when there is nothing cached and no go on PATH', async () => {
    process.env.PATH = join(cache, 'no-such-bin');
    await expect(ensureTemporalServer({ version: 'v1.30.8' })).rejects.toMatchObject({
      code: 'devstack.go_missing',
      message: expect.stringMatching(/install Go >= 1\.25\.14.*TOKENRELAY_TEMPORAL_SERVER/s),
    });
  });

  it('refuses a TOKENRELAY_TEMPORAL_SERVER that does not exist', async () => {
    process.env.TOKENRELAY_TEMPORAL_SERVER = join(cache, 'missing-server');
    await expect(ensureTemporalServer()).rejects.toMatchObject({ code: 'devstack.invalid_state' });
  });
});

describe('ensureTokenrelayServer (server/ of this package)', () => {
  /** A throwaway Go module laid out like server/. */
  async function sourceTree(): Promise<string> {
    const dir = join(cache, 'src');
    await mkdir(join(dir, 'authz'), { recursive: true });
    await writeFile(join(dir, 'go.mod'), 'module example.com/server\n\ngo 1.25\n');
    await writeFile(join(dir, 'go.sum'), '');
    await writeFile(join(dir, 'main.go'), 'package main\n\nfunc main() {}\n');
    await writeFile(join(dir, 'authz', 'authorizer.go'), 'package authz\n');
    await writeFile(join(dir, 'authz', 'authorizer_test.go'), 'package authz\n');
    await writeFile(join(dir, 'README.md'), '# server\n');
    return dir;
  }

  it('keys the cache by the sources: a changed .go file, go.mod or go.sum is a new build', async () => {
    const dir = await sourceTree();
    const first = await serverSourceHash(dir);
    expect(await serverSourceHash(dir)).toBe(first);
    expect(tokenrelayServerCacheDir(first)).toBe(
      join(cache, 'tokenrelay', `temporal-server-tokenrelay-${first.slice(0, 16)}`),
    );

    await writeFile(join(dir, 'authz', 'authorizer.go'), 'package authz\n\n// changed\n');
    const afterSource = await serverSourceHash(dir);
    expect(afterSource).not.toBe(first);

    await writeFile(join(dir, 'go.sum'), 'example.com/x v1.0.0 h1:abc=\n');
    const afterSum = await serverSourceHash(dir);
    expect(afterSum).not.toBe(afterSource);

    await writeFile(join(dir, 'go.mod'), 'module example.com/server\n\ngo 1.26\n');
    const afterMod = await serverSourceHash(dir);
    expect(afterMod).not.toBe(afterSum);

    await writeFile(join(dir, 'authz', 'new.go'), 'package authz\n');
    expect(await serverSourceHash(dir)).not.toBe(afterMod);
  });

  it('does not rebuild for tests or docs, which do not change the binary', async () => {
    const dir = await sourceTree();
    const before = await serverSourceHash(dir);
    await writeFile(join(dir, 'authz', 'authorizer_test.go'), 'package authz\n\n// more tests\n');
    await writeFile(join(dir, 'README.md'), '# server, documented\n');
    expect(await serverSourceHash(dir)).toBe(before);
  });

  it('hashes the real server/ module of the package', async () => {
    expect(await serverSourceHash(tokenrelayServerSourceDir())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('honours TOKENRELAY_TEMPORAL_SERVER without building or even reading the sources', async () => {
    const prebuilt = join(cache, 'prebuilt-server');
    await writeFile(prebuilt, '#!/bin/sh\n');
    await chmod(prebuilt, 0o755);
    process.env.TOKENRELAY_TEMPORAL_SERVER = prebuilt;
    process.env.PATH = join(cache, 'no-such-bin');
    await expect(ensureTokenrelayServer({ sourceDir: join(cache, 'no-sources') })).resolves.toBe(prebuilt);
  });

  it('refuses a TOKENRELAY_TEMPORAL_SERVER that does not exist', async () => {
    process.env.TOKENRELAY_TEMPORAL_SERVER = join(cache, 'missing-server');
    await expect(ensureTokenrelayServer()).rejects.toMatchObject({ code: 'devstack.invalid_state' });
  });

  it('says the sources are missing (e.g. an install without server/) and how to do without them', async () => {
    await expect(ensureTokenrelayServer({ sourceDir: join(cache, 'no-sources') })).rejects.toMatchObject({
      code: 'devstack.invalid_state',
      message: expect.stringMatching(/no go\.mod.*TOKENRELAY_TEMPORAL_SERVER/s),
    });
  });

  it('says to install Go when the build for these sources is not cached and no go is on PATH', async () => {
    const dir = await sourceTree();
    process.env.PATH = join(cache, 'no-such-bin');
    await expect(ensureTokenrelayServer({ sourceDir: dir })).rejects.toMatchObject({
      code: 'devstack.go_missing',
    });
  });

  it('uses a cached build of the same sources without Go', async () => {
    const dir = await sourceTree();
    const target = tokenrelayServerCacheDir(await serverSourceHash(dir));
    await mkdir(target, { recursive: true });
    // Stands in for a finished build: answers --version like the real binary.
    await writeFile(join(target, 'server'), '#!/bin/sh\necho "temporal-tokenrelay version 1.30.8"\n');
    await chmod(join(target, 'server'), 0o755);
    process.env.PATH = `${join(cache, 'no-such-bin')}:/bin:/usr/bin`;
    await expect(ensureTokenrelayServer({ sourceDir: dir })).resolves.toBe(join(target, 'server'));
  });
});

describe('ensureTemporalCli (the official CLI the tests drive)', () => {
  /** A stand-in `temporal` in the cache that prints `line` for --version. */
  async function cachedCli(line: string): Promise<string> {
    const dir = temporalCliCacheDir();
    await mkdir(dir, { recursive: true });
    const binary = join(dir, 'temporal');
    await writeFile(binary, `#!/bin/sh\necho '${line}'\n`);
    await chmod(binary, 0o755);
    return binary;
  }

  it('keeps the build in a per-version cache folder outside the project', () => {
    expect(temporalCliCacheDir('v1.5.1')).toBe(join(cache, 'tokenrelay', 'temporal-cli-v1.5.1'));
  });

  it('uses the cached binary of the pinned version without building (no go on PATH needed)', async () => {
    const binary = await cachedCli(
      `temporal version ${TEMPORAL_CLI_VERSION.slice(1)} (Server 1.29.1, UI 2.42.1)`,
    );
    process.env.PATH = `${join(cache, 'no-such-bin')}:/bin:/usr/bin`;
    await expect(ensureTemporalCli()).resolves.toBe(binary);
  });

  it('builds again when the cached binary is another version, and says to install Go when it cannot', async () => {
    await cachedCli('temporal version 1.4.0 (Server 1.28.0, UI 2.40.0)');
    process.env.PATH = `${join(cache, 'no-such-bin')}:/bin:/usr/bin`;
    await expect(ensureTemporalCli()).rejects.toMatchObject({
      code: 'devstack.go_missing',
      message: expect.stringMatching(/temporal CLI.*TOKENRELAY_TEMPORAL_CLI/s),
    });
  });

  it('honours TOKENRELAY_TEMPORAL_CLI, and refuses one that does not exist', async () => {
    const binary = await cachedCli('anything');
    process.env.TOKENRELAY_TEMPORAL_CLI = binary;
    await expect(ensureTemporalCli()).resolves.toBe(binary);
    process.env.TOKENRELAY_TEMPORAL_CLI = join(cache, 'missing-cli');
    await expect(ensureTemporalCli()).rejects.toMatchObject({ code: 'devstack.invalid_state' });
  });
});
