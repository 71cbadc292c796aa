import { mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/package-root.js';
import {
  cachedWorkflowBundle,
  loadOrBuildWorkflowBundle,
  workflowBundleFor,
} from '../../support/workflow-bundles.js';

// One real webpack build (a few seconds, in beforeAll), then only cache lookups: what the integration
// tests rely on is that a bundle on disk is never used once a module it was built from has changed.
// Every test that changes a module puts it back, so the tests run in any order.
describe('workflowBundleFor', () => {
  let dir: string;
  let spec: { workflowsPath: string; workflowInterceptorModules: string[]; cacheDir: string };
  const greeting = () => join(dir, 'greeting.ts');
  const greetingSource = "export const greet = () => 'hello';\n";
  const past = new Date(Date.now() - 60_000);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'workflow-bundles-'));
    // The bundler resolves @temporalio/workflow from beside the workflows module.
    await symlink(join(packageRoot(), 'node_modules'), join(dir, 'node_modules'));
    const workflowsPath = join(dir, 'workflows.ts');
    // Imported without an extension, so webpack also records the paths it probed and did not find.
    await writeFile(
      workflowsPath,
      "import { greet } from './greeting';\nexport async function hello() { return greet(); }\n",
    );
    await writeFile(greeting(), greetingSource);
    // Older than the build: a file modified while webpack runs keeps its bundle out of the cache.
    for (const file of [workflowsPath, greeting()]) await utimes(file, past, past);
    spec = { workflowsPath, workflowInterceptorModules: [], cacheDir: join(dir, 'cache') };
    expect((await loadOrBuildWorkflowBundle(spec)).built).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one build per process, and another process reuses the bundle from the cache folder', async () => {
    const first = workflowBundleFor(spec.workflowsPath, { cacheDir: spec.cacheDir });
    expect(workflowBundleFor(spec.workflowsPath, { cacheDir: spec.cacheDir })).toBe(first);
    const { code } = await first;
    expect(code).toContain("'hello'");
    // What a second process does: no memo, straight to the cache folder.
    await expect(loadOrBuildWorkflowBundle(spec)).resolves.toEqual({ bundle: { code }, built: false });
  }, 60_000);

  it('keeps bundles with other interceptor modules apart', async () => {
    await expect(
      cachedWorkflowBundle({ ...spec, workflowInterceptorModules: [greeting()] }),
    ).resolves.toBeUndefined();
  });

  it('does not use the bundle once a path webpack looked for and did not find exists', async () => {
    await writeFile(join(dir, 'greeting'), "export const greet = () => 'shadowed';\n");
    await expect(cachedWorkflowBundle(spec)).resolves.toBeUndefined();
    await rm(join(dir, 'greeting'));
    await expect(cachedWorkflowBundle(spec)).resolves.toBeDefined();
  });

  it('does not use the bundle once a module the workflows import has changed', async () => {
    await writeFile(greeting(), "export const greet = () => 'changed';\n");
    await expect(cachedWorkflowBundle(spec)).resolves.toBeUndefined();
    // As built again: the bundle is valid once more.
    await writeFile(greeting(), greetingSource);
    await utimes(greeting(), past, past);
    await expect(cachedWorkflowBundle(spec)).resolves.toBeDefined();
  });
});
