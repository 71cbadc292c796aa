import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureTemporalServer, temporalServerCacheDir } from '../../../src/devstack/temporal-install.js';

const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
let cache: string;

beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'tr-cache-'));
  process.env.XDG_CACHE_HOME = cache;
  delete process.env.TOKENRELAY_TEMPORAL_SERVER;
});
afterEach(async () => {
  process.env.PATH = saved.PATH;
  process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
  await rm(cache, { recursive: true, force: true });
});

describe('ensureTemporalServer', () => {
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
    delete process.env.TOKENRELAY_TEMPORAL_SERVER;
  });
});
