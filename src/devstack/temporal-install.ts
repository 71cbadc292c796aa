import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { packageRoot } from '../package-root.js';
import { DevStackError } from './errors.js';

const run = promisify(execFile);

/**
 * The pinned server version. 1.31.x needs `go.temporal.io/auto-scaled-workers`, which the Go module
 * proxy does not serve, so 1.30.x it is (it builds with Go >= 1.25.14).
 */
export const TEMPORAL_SERVER_VERSION = 'v1.30.8';
const MODULE = 'go.temporal.io/server/cmd/server';

/** Roughly how many lines `go install -v` prints in a cold build, for a progress estimate. */
const COLD_BUILD_LINES = 1180;

export interface BuildProgress {
  /** Modules downloaded and packages compiled so far. */
  steps: number;
  /** Estimated fraction of a cold build, 0..1 (a warm Go build cache finishes early). */
  estimate: number;
  elapsedMs: number;
  /** The latest module or package name. */
  current: string;
}

export interface BuildOptions {
  onProgress?: (p: BuildProgress) => void;
  onBuildStart?: () => void;
}

function tokenrelayCacheHome(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tokenrelay');
}

export function temporalServerCacheDir(version: string = TEMPORAL_SERVER_VERSION): string {
  return join(tokenrelayCacheHome(), `temporal-server-${version}`);
}

/**
 * The prebuilt binary `variable` names, which replaces a build when set: `TOKENRELAY_TEMPORAL_SERVER`
 * for either server build, `TOKENRELAY_TEMPORAL_CLI` for the temporal CLI.
 */
async function overrideBinary(
  variable: 'TOKENRELAY_TEMPORAL_SERVER' | 'TOKENRELAY_TEMPORAL_CLI' = 'TOKENRELAY_TEMPORAL_SERVER',
): Promise<string | undefined> {
  const override = process.env[variable];
  if (!override) return undefined;
  await access(override).catch(() => {
    throw new DevStackError('devstack.invalid_state', `${variable}=${override} does not exist`);
  });
  return override;
}

/**
 * Path to the stock Temporal server binary of `version` (Temporal's own authorizer and claim mapper),
 * building it with `go install` into a cache outside the project on first use. Kept for comparisons
 * (benchmarks); the dev stack runs {@link ensureTokenrelayServer}. `TOKENRELAY_TEMPORAL_SERVER`
 * points at a prebuilt binary instead.
 */
export async function ensureTemporalServer(
  options: BuildOptions & { version?: string } = {},
): Promise<string> {
  const version = options.version ?? TEMPORAL_SERVER_VERSION;
  const override = await overrideBinary();
  if (override) return override;
  const binary = join(temporalServerCacheDir(version), 'server');
  if (await builtVersionMatches(binary, version)) return binary;
  await goInstall(MODULE, version, binary, ['-tags', 'disable_grpc_modules'], options);
  if (!(await builtVersionMatches(binary, version))) {
    throw new DevStackError(
      'devstack.build_failed',
      `the built ${binary} does not report version ${version}`,
    );
  }
  return binary;
}

/**
 * The official `temporal` CLI the integration tests drive as a user would (`--codec-endpoint`,
 * `workflow signal` / `query`). v1.5.1 is the newest the Go module proxy here serves that builds.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export function temporalCliCacheDir(version: string = TEMPORAL_CLI_VERSION): string {
  return join(tokenrelayCacheHome(), `temporal-cli-${version}`);
}

/**
 * Path to the official `temporal` CLI of `version`, built with `go install` into the cache outside
 * the project on first use (minutes, once per machine and version). `TOKENRELAY_TEMPORAL_CLI` points
 * at a prebuilt binary instead.
 */
export async function ensureTemporalCli(options: BuildOptions & { version?: string } = {}): Promise<string> {
  const version = options.version ?? TEMPORAL_CLI_VERSION;
  const override = await overrideBinary('TOKENRELAY_TEMPORAL_CLI');
  if (override) return override;
  const binary = join(temporalCliCacheDir(version), 'temporal');
  const matches = async () =>
    (await versionLine(binary))?.startsWith(`temporal version ${version.slice(1)} `);
  if (await matches()) return binary;
  // Stamped as Temporal's own release builds are; a plain `go install` reports 0.0.0-DEV.
  const stamp = `-X github.com/temporalio/cli/temporalcli.Version=${version.slice(1)}`;
  await goInstall(CLI_MODULE, version, binary, ['-ldflags', stamp], options);
  if (!(await matches())) {
    throw new DevStackError(
      'devstack.build_failed',
      `the built ${binary} does not report temporal version ${version.slice(1)}`,
    );
  }
  return binary;
}

/**
 * `go install <module>@<version>` into a staging folder next to `binary`'s, then renamed into place,
 * so a concurrent user never runs a half-written binary.
 */
async function goInstall(
  module: string,
  version: string,
  binary: string,
  extraArgs: readonly string[],
  options: BuildOptions,
): Promise<void> {
  await assertGo();
  options.onBuildStart?.();
  const dir = dirname(binary);
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await runGo(
      ['install', '-v', ...extraArgs, `${module}@${version}`],
      { cwd: staging, env: { GOBIN: staging } },
      options.onProgress,
    );
    await mkdir(dir, { recursive: true });
    await rename(join(staging, basename(binary)), binary);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The Go build of tokenrelay's server (server/ in the package): the recipe is part of the cache key. */
const TOKENRELAY_BUILD_ARGS = ['build', '-v', '-trimpath', '-tags', 'disable_grpc_modules'] as const;
const TOKENRELAY_BUILD_NAME = 'temporal-tokenrelay';

/** The server/ Go module of this package. */
export function tokenrelayServerSourceDir(): string {
  return join(packageRoot(), 'server');
}

/**
 * A hash of what goes into the tokenrelay server binary: every non-test .go file of `sourceDir`,
 * go.mod and go.sum (paths and contents), plus the build recipe. Tests and docs do not change the
 * binary, so they do not cause a rebuild.
 */
export async function serverSourceHash(sourceDir: string = tokenrelayServerSourceDir()): Promise<string> {
  const files = (await goSourceFiles(sourceDir)).sort();
  if (!files.some((f) => f === 'go.mod')) {
    throw new DevStackError(
      'devstack.invalid_state',
      `${sourceDir} holds no go.mod: the tokenrelay Temporal server sources are missing (set TOKENRELAY_TEMPORAL_SERVER to a prebuilt binary instead)`,
    );
  }
  const hash = createHash('sha256');
  hash.update(`${TOKENRELAY_BUILD_ARGS.join(' ')}\0CGO_ENABLED=0\0`);
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(sourceDir, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function goSourceFiles(dir: string, root: string = dir): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return [];
    throw cause;
  });
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'testdata')
        out.push(...(await goSourceFiles(path, root)));
      continue;
    }
    const isSource = entry.name.endsWith('.go') && !entry.name.endsWith('_test.go');
    if (isSource || (dir === root && (entry.name === 'go.mod' || entry.name === 'go.sum'))) {
      // Forward slashes, so the key is the same on every platform.
      out.push(relative(root, path).split(sep).join('/'));
    }
  }
  return out;
}

/** Where the build of sources with `hash` lives; a change of any source gets a folder of its own. */
export function tokenrelayServerCacheDir(hash: string): string {
  return join(tokenrelayCacheHome(), `temporal-server-tokenrelay-${hash.slice(0, 16)}`);
}

/**
 * Path to tokenrelay's Temporal server (the pinned Temporal version with tokenrelay's claim mapper
 * and authorizer, see server/README.md), built with `go build` from the package's server/ module into
 * the cache on first use and whenever its sources change. `TOKENRELAY_TEMPORAL_SERVER` points at a
 * prebuilt binary instead.
 */
export async function ensureTokenrelayServer(
  options: BuildOptions & { sourceDir?: string } = {},
): Promise<string> {
  const override = await overrideBinary();
  if (override) return override;
  const sourceDir = options.sourceDir ?? tokenrelayServerSourceDir();
  const dir = tokenrelayServerCacheDir(await serverSourceHash(sourceDir));
  const binary = join(dir, 'server');
  if (await builtVersionMatches(binary, TEMPORAL_SERVER_VERSION, TOKENRELAY_BUILD_NAME)) return binary;

  await assertGo();
  options.onBuildStart?.();
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await runGo(
      [...TOKENRELAY_BUILD_ARGS, '-o', join(staging, 'server'), '.'],
      { cwd: sourceDir },
      options.onProgress,
    );
    await mkdir(dir, { recursive: true });
    // Rename into place so a concurrent `dev up` never runs a half-written binary.
    await rename(join(staging, 'server'), binary);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (!(await builtVersionMatches(binary, TEMPORAL_SERVER_VERSION, TOKENRELAY_BUILD_NAME))) {
    throw new DevStackError(
      'devstack.build_failed',
      `the built ${binary} does not report ${TOKENRELAY_BUILD_NAME} version ${TEMPORAL_SERVER_VERSION}`,
    );
  }
  return binary;
}

async function builtVersionMatches(binary: string, version: string, name?: string): Promise<boolean> {
  const line = await versionLine(binary);
  if (line === undefined) return false;
  return line.endsWith(version.replace(/^v/, '')) && (name === undefined || line.startsWith(`${name} `));
}

/** What `binary --version` prints, or undefined when it is missing or does not run. */
async function versionLine(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 10_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function assertGo(): Promise<void> {
  try {
    await run('go', ['version'], { timeout: 20_000 });
  } catch (cause) {
    throw new DevStackError(
      'devstack.go_missing',
      'Go is needed once to build the Temporal server (and, for the tests, the temporal CLI): install Go >= 1.25.14 ' +
        '(https://go.dev/dl/) and put `go` on PATH, or set TOKENRELAY_TEMPORAL_SERVER (TOKENRELAY_TEMPORAL_CLI) to a prebuilt binary',
      { cause },
    );
  }
}

/** Runs one `go` command with CGO off, reporting each line of its -v output as progress. */
function runGo(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
  onProgress?: (p: BuildProgress) => void,
): Promise<void> {
  const started = Date.now();
  const child = spawn('go', args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, CGO_ENABLED: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const tail: string[] = [];
  let steps = 0;
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    steps += 1;
    onProgress?.({
      steps,
      estimate: Math.min(0.99, steps / COLD_BUILD_LINES),
      elapsedMs: Date.now() - started,
      current: line.replace(/^go: downloading /, ''),
    });
  });
  const what = `go ${args.filter((a) => a !== '-v').join(' ')}`;
  return new Promise((resolve, reject) => {
    child.on('error', (cause) =>
      reject(new DevStackError('devstack.build_failed', `cannot run ${what}: ${cause.message}`, { cause })),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve();
      reject(
        new DevStackError(
          'devstack.build_failed',
          `${what} exited with ${code}. Last output:\n${tail.join('\n')}`,
        ),
      );
    });
  });
}
