import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { devLayout } from '../../../src/devstack/layout.js';
import {
  devDynamicConfig,
  dynamicConfigYaml,
  writeDynamicConfig,
} from '../../../src/devstack/temporal-config.js';

describe('the dev server dynamic config', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("renders each setting as Temporal's dynamic config YAML: one unconstrained value per key", () => {
    expect(dynamicConfigYaml({ 'a.b': '1s', 'c.d': 5, 'e.f': true })).toBe(
      'a.b:\n  - value: "1s"\nc.d:\n  - value: 5\ne.f:\n  - value: true\n',
    );
  });

  it('fires timers on time: the 1 s timer shift of a multi-host cluster is cut to 100 ms', () => {
    expect(devDynamicConfig).toMatchObject({
      'system.namespaceCacheRefreshInterval': '1s',
      'history.timerProcessorMaxTimeShift': '100ms',
    });
  });

  it('writes the dev settings with the extras on top, an extra replacing a dev setting', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokenrelay-dynconfig-'));
    const layout = devLayout(dir);
    await mkdir(layout.temporalDir, { recursive: true });
    await writeDynamicConfig(layout, { 'history.timerProcessorMaxTimeShift': '1s', 'x.y': 2 });
    const yaml = await readFile(layout.dynamicConfigPath, 'utf8');
    expect(yaml).toContain('system.namespaceCacheRefreshInterval:\n  - value: "1s"\n');
    expect(yaml).toContain('history.timerProcessorMaxTimeShift:\n  - value: "1s"\n');
    expect(yaml).not.toContain('100ms');
    expect(yaml).toContain('x.y:\n  - value: 2\n');
  });
});
