import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireSlot } from '../../support/machine-slots.js';
import { TEST_PORT_SPAN } from '../../support/ports.js';
import { defaultShards, planShards, summaryLine } from '../../support/run-integration.js';
import { DEFAULT_SECONDS, expectedSeconds, splitByTime } from '../../support/shard-split.js';
import { testTempDir } from '../../support/temp-dir.js';
import { until } from '../../support/wait.js';

describe('splitByTime', () => {
  const files = [
    { path: 'a', seconds: 100 },
    { path: 'b', seconds: 90 },
    { path: 'c', seconds: 60 },
    { path: 'd', seconds: 40 },
    { path: 'e', seconds: 10 },
  ];

  it('gives every file to exactly one shard and keeps the shards close in time', () => {
    const shards = splitByTime(files, 2);
    expect(
      shards
        .flat()
        .map((f) => f.path)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd', 'e']);
    const totals = shards.map((s) => s.reduce((sum, f) => sum + f.seconds, 0));
    expect(totals).toEqual([150, 150]);
  });

  it('splits the same files the same way whatever order they were found in', () => {
    expect(splitByTime([...files].reverse(), 3)).toEqual(splitByTime(files, 3));
  });

  it('refuses a shard count that is not a positive whole number', () => {
    expect(() => splitByTime(files, 0)).toThrow(/positive integer/);
    expect(() => splitByTime(files, 1.5)).toThrow(/positive integer/);
  });

  it('looks files up by name, and counts an unknown file as the default', () => {
    expect(expectedSeconds('/x/test/integration/cli.test.ts')).toBeGreaterThan(DEFAULT_SECONDS);
    expect(expectedSeconds('test/integration/new-thing.test.ts')).toBe(DEFAULT_SECONDS);
  });
});

describe('planShards', () => {
  it('gives each shard its own state folder and a port range of its own', () => {
    const plans = planShards({
      TOKENRELAY_TEST_SHARDS: '3',
      TOKENRELAY_TEST_PORT_BASE: '24000',
      TOKENRELAY_TEST_HOME: '/tmp/s',
    });
    expect(plans.map((p) => p.home)).toEqual(['/tmp/s/shard-1', '/tmp/s/shard-2', '/tmp/s/shard-3']);
    expect(plans.map((p) => p.portBase)).toEqual([24000, 25200, 26400]);
  });

  it('keeps the plain state folder for a single shard', () => {
    expect(planShards({ TOKENRELAY_TEST_SHARDS: '1', TOKENRELAY_TEST_HOME: '/tmp/s' })[0]?.home).toBe(
      '/tmp/s',
    );
  });

  it('names the variable to fix when a value is out of range', () => {
    expect(() => planShards({ TOKENRELAY_TEST_SHARDS: 'many' })).toThrow(/TOKENRELAY_TEST_SHARDS/);
    expect(() => planShards({ TOKENRELAY_TEST_SHARDS: '3', TOKENRELAY_TEST_PORT_BASE: '60000' })).toThrow(
      /TOKENRELAY_TEST_PORT_BASE must be an integer from 1024 to/,
    );
    expect(() => planShards({ TOKENRELAY_TEST_PORT_BASE: 'x' })).toThrow(/got x/);
  });

  it('keeps every shard below the ephemeral range, where a client connection can hold a port', () => {
    const ephemeral = { low: 32768, high: 60999 };
    const env = { TOKENRELAY_TEST_SHARDS: '3', TOKENRELAY_TEST_PORT_BASE: '29168' };
    // 29168 + 3 × 1200 = 32768: the last shard's last port is 32767, the highest allowed.
    expect(planShards(env, ephemeral).at(-1)?.portBase).toBe(31568);
    // One port more and the third shard's last port is the range's first.
    expect(() => planShards({ ...env, TOKENRELAY_TEST_PORT_BASE: '29169' }, ephemeral)).toThrow(
      /from 1024 to 29168, got 29169: 3 stack\(s\) take 1200 ports each.*below 32768/,
    );
    // Above the range is just as safe (a kernel configured low).
    expect(planShards(env, { low: 10000, high: 20000 })[0]?.portBase).toBe(29168);
  });

  it('fits the default shards and the second and third checkouts the README suggests below Linux default range', () => {
    const ephemeral = { low: 32768, high: 60999 };
    for (const base of [undefined, '24000', '28000']) {
      const plans = planShards({ TOKENRELAY_TEST_SHARDS: '3', TOKENRELAY_TEST_PORT_BASE: base }, ephemeral);
      expect(plans.at(-1)!.portBase + TEST_PORT_SPAN - 1).toBeLessThan(ephemeral.low);
    }
  });
});

describe('defaultShards', () => {
  it('runs one shard more than there are cores, at least one and at most four', () => {
    expect([0, 1, 2, 3, 8].map((cores) => defaultShards(cores))).toEqual([1, 2, 3, 4, 4]);
  });
});

describe('summaryLine', () => {
  it('picks the counts out of vitest summary lines, coloured or not', () => {
    expect(summaryLine(' \x1b[2m Test Files \x1b[22m 10 passed (10)')).toEqual({
      kind: 'files',
      text: '10 passed (10)',
    });
    expect(summaryLine('      Tests  52 passed (52)')).toEqual({ kind: 'tests', text: '52 passed (52)' });
    expect(summaryLine('✓ a test that mentions Tests in passing')).toBeUndefined();
  });
});

describe('acquireSlot', () => {
  it('hands out as many slots as the machine has, and the next taker waits for one to come back', async () => {
    const dir = await testTempDir('tokenrelay-slots-');
    const first = await acquireSlot({ dir, count: 2, pollMs: 20 });
    const second = await acquireSlot({ dir, count: 2, pollMs: 20 });
    let waited = false;
    let gotThird = false;
    const third = acquireSlot({ dir, count: 2, pollMs: 20, onWait: () => (waited = true) }).then(
      (release) => {
        gotThird = true;
        return release;
      },
    );
    await until(async () => waited, 'the third taker to wait', { intervalMs: 10 });
    expect(gotThird).toBe(false);
    await first();
    const release = await third;
    expect(gotThird).toBe(true);
    await second();
    await release();
  });

  it('takes over a slot whose owner has exited', async () => {
    const dir = await testTempDir('tokenrelay-slots-');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await mkdir(join(dir, 'slot-1'));
    await writeFile(join(dir, 'slot-1', 'pid'), gone.stdout.toString());
    let waited = false;
    const release = await acquireSlot({ dir, count: 1, pollMs: 20, onWait: () => (waited = true) });
    expect(waited).toBe(false);
    expect(await readFile(join(dir, 'slot-1', 'pid'), 'utf8')).toBe(String(process.pid));
    await release();
  });
});
