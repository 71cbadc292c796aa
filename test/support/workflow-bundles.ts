// Workflow bundles for the tests, each distinct one built once: kept in memory for the rest of the
// process and on disk for the other processes of the run. Webpack takes ~3.5 s of CPU per bundle on
// two cores; vitest runs every test file in a process of its own, and the fixture workers run in child
// processes, so a memo alone still built the same bundle in file after file.
//
// A bundle on disk is used only while every input webpack read for it is unchanged: each file (its
// content hash), each directory it resolved through, and each path it looked for and did not find
// (still absent). That is the list webpack's own persistent cache checks, taken from the compilation;
// the toolchain that turns those inputs into code (the worker package, webpack, swc and the loaders)
// is part of the key by version. Plain Node, no vitest: fixture worker processes use it too.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type BundleOptions, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { testHomeFromEnv } from './test-home.js';

export interface WorkflowBundleOptions {
  /** Modules exporting workflow `interceptors`, bundled in (`bundleWorkflowCode`'s option): paths or package names. */
  workflowInterceptorModules?: readonly string[];
  /**
   * Where bundles are kept between processes. Default: `workflow-bundles` in the suite's stack home
   * (TOKENRELAY_TEST_HOME), which the global setup wipes, so a run never sees an earlier run's bundles.
   */
  cacheDir?: string;
}

const inProcess = new Map<string, Promise<WorkflowBundle>>();

/**
 * The bundle of `workflowsPath` (with `workflowInterceptorModules`), built at most once per process
 * and reused from the cache folder while its inputs are unchanged. Pass it as `workflowBundle` where
 * a worker would otherwise be given `workflowsPath` and bundle it again.
 */
export function workflowBundleFor(
  workflowsPath: string,
  options: WorkflowBundleOptions = {},
): Promise<WorkflowBundle> {
  const spec = {
    workflowsPath: resolve(workflowsPath),
    workflowInterceptorModules: [...(options.workflowInterceptorModules ?? [])],
  };
  const cacheDir = options.cacheDir ?? join(testHomeFromEnv(), 'workflow-bundles');
  const key = JSON.stringify([spec, cacheDir]);
  let bundle = inProcess.get(key);
  if (!bundle) {
    bundle = loadOrBuildWorkflowBundle({ ...spec, cacheDir }).then((result) => result.bundle);
    inProcess.set(key, bundle);
    // A failed build is not remembered: the next caller tries again and sees its own error.
    bundle.catch(() => inProcess.delete(key));
  }
  return bundle;
}

/** What a bundle on disk was built from: each input path and what it was then. */
type InputState = { sha256: string } | 'directory' | 'absent';

interface CachedBundle {
  inputs: Record<string, InputState>;
  code: string;
}

interface BundleSpec {
  workflowsPath: string;
  workflowInterceptorModules: readonly string[];
  cacheDir: string;
}

/**
 * The cache folder's bundle when its inputs are unchanged, else a new one (written to the folder).
 * `built` says which; no memo in between, so tests of the cache can see both cases.
 */
export async function loadOrBuildWorkflowBundle(
  spec: BundleSpec,
): Promise<{ bundle: WorkflowBundle; built: boolean }> {
  const cached = await cachedWorkflowBundle(spec);
  if (cached) return { bundle: cached, built: false };
  let inputs: WebpackInputs | undefined;
  const startedAt = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: spec.workflowsPath,
    workflowInterceptorModules: [...spec.workflowInterceptorModules],
    logger: bundleLogger,
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [...(config.plugins ?? []), recordInputs((recorded) => (inputs = recorded))],
    }),
  });
  // The cache only saves time: a bundle that cannot be described or written is still returned.
  if (inputs) await writeCached(cacheFile(spec), code, inputs, startedAt).catch(() => undefined);
  return { bundle: { code }, built: true };
}

/** The cache folder's bundle for `spec` if there is one and every input is as it was; else undefined. */
export async function cachedWorkflowBundle(spec: BundleSpec): Promise<WorkflowBundle | undefined> {
  let cached: CachedBundle;
  try {
    cached = JSON.parse(await readFile(cacheFile(spec), 'utf8')) as CachedBundle;
  } catch {
    return undefined;
  }
  for (const [path, recorded] of Object.entries(cached.inputs)) {
    if (JSON.stringify(await inputState(path)) !== JSON.stringify(recorded)) return undefined;
  }
  return { code: cached.code };
}

function cacheFile({ workflowsPath, workflowInterceptorModules, cacheDir }: BundleSpec): string {
  const id = createHash('sha256')
    .update(JSON.stringify({ workflowsPath, workflowInterceptorModules, toolchain: toolchainVersions() }))
    .digest('hex')
    .slice(0, 32);
  return join(cacheDir, `${id}.json`);
}

interface WebpackInputs {
  files: string[];
  missing: string[];
  contexts: string[];
}

type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];
type WebpackPlugin = NonNullable<WebpackConfig['plugins']>[number];

/** A webpack plugin handing over, once the build is done, every path the build depended on. */
function recordInputs(onDone: (inputs: WebpackInputs) => void): WebpackPlugin {
  return {
    apply(compiler) {
      compiler.hooks.done.tap('tokenrelay-test-bundle-inputs', ({ compilation }) => {
        onDone({
          files: [...compilation.fileDependencies],
          missing: [...compilation.missingDependencies],
          contexts: [...compilation.contextDependencies],
        });
      });
    },
  };
}

async function writeCached(file: string, code: string, inputs: WebpackInputs, startedAt: number) {
  // A directory read whole (require.context) would need its listing kept; our workflows have none.
  if (inputs.contexts.length > 0) return;
  const states: Record<string, InputState> = {};
  for (const path of [...inputs.files, ...inputs.missing]) {
    const state = await inputState(path);
    if (state === undefined) return;
    // Changed while webpack ran: the bundle may hold the older content, so it is not kept.
    if (typeof state === 'object' && (await modifiedSince(path, startedAt))) return;
    states[path] = state;
  }
  const cached: CachedBundle = { inputs: states, code };
  await mkdir(join(file, '..'), { recursive: true });
  // Written whole and renamed into place: a reader in another process sees all of it or nothing.
  const partial = `${file}.${randomUUID()}.tmp`;
  await writeFile(partial, JSON.stringify(cached));
  await rename(partial, file);
}

/**
 * A path as webpack saw it: a file's content hash, a directory, or nothing there (webpack lists the
 * bundler's generated entry module, which lives in memory, and the paths it probed while resolving).
 * Undefined when it cannot be read.
 */
async function inputState(path: string): Promise<InputState | undefined> {
  try {
    if ((await stat(path)).isDirectory()) return 'directory';
    return {
      sha256: createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : undefined;
  }
}

async function modifiedSince(path: string, since: number): Promise<boolean> {
  // A second of slack: the kernel stamps files from a coarse clock, some file systems in whole seconds.
  return (await stat(path)).mtimeMs >= since - 1_000;
}

let toolchain: Record<string, string> | undefined;

/** What turns the inputs into code; a different version may bundle the same inputs differently. */
function toolchainVersions(): Record<string, string> {
  if (toolchain) return toolchain;
  const requireFromWorker = createRequire(createRequire(import.meta.url).resolve('@temporalio/worker'));
  const versions: Record<string, string> = {};
  for (const name of ['@temporalio/worker', 'webpack', '@swc/core', 'swc-loader', 'source-map-loader']) {
    try {
      versions[name] = (requireFromWorker(`${name}/package.json`) as { version: string }).version;
    } catch {
      versions[name] = 'unknown';
    }
  }
  toolchain = versions;
  return versions;
}

/** Webpack's statistics and progress stay out of the test output; its warnings and errors do not. */
const bundleLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string) {
    process.stderr.write(`workflow bundle: ${message}\n`);
  },
  error(message: string) {
    process.stderr.write(`workflow bundle: ${message}\n`);
  },
};
